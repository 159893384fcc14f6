// FakeHttpServer: a real HTTP/1.1 server on 127.0.0.1, port 0, for tests of
// HTTP clients. It records every request and answers with what a handler
// returns; a handler can also decline to answer (to test timeouts) or close
// the connection after answering (to test reconnects).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cairn::client::testing {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  int connection = 0;                          // 1 for the first accepted, ...
};

struct CannedResponse {
  unsigned status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;        // say "Connection: close" and close after this response
  bool silentClose = false;  // close after this response without saying so
};

// Returns the response to send, or nullopt to never answer (the connection
// stays open until the server is destroyed). Runs on the server's thread.
using Handler = std::function<std::optional<CannedResponse>(const RecordedRequest&)>;

// A handler answering "METHOD target" keys from a table, 404 otherwise.
Handler routes(std::map<std::string, CannedResponse> table);

class FakeHttpServer {
 public:
  // Listens on 127.0.0.1 with an OS-chosen port, serving on its own thread.
  static std::unique_ptr<FakeHttpServer> start(Handler handler);
  ~FakeHttpServer();  // stops the thread and closes every connection

  std::uint16_t port() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  std::vector<RecordedRequest> requests() const;
  int connections() const;

  struct State;

 private:
  explicit FakeHttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// A 127.0.0.1 port that nothing listens on (bound, then closed).
std::uint16_t closedPort();

}  // namespace cairn::client::testing
