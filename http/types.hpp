// Plain request/response values exchanged between the Beast session (I/O)
// and the API handlers (pure logic). No Beast types here.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "registry/watch.hpp"

namespace cairn::http {

struct Request {
  std::string method;                                      // "GET", "PUT", ...
  std::string path;                                        // decoded path, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // lower-case names
  std::string body;
  std::string remoteAddr;  // the peer's IP address

  // First value of a query parameter, or nullptr.
  const std::string* param(std::string_view name) const;
  bool hasParam(std::string_view name) const { return param(name) != nullptr; }
  // A flag parameter: present and not "false"/"0".
  bool flag(std::string_view name) const;
  std::vector<std::string> params(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::string contentType = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;

  static Response json(std::string body, int status = 200);
  static Response text(int status, std::string body);
};

// A write: start() is called once, and must eventually call respond exactly
// once, from any thread.
struct Deferred {
  std::function<void(std::function<void(Response)> respond)> start;
};

// A blocking query: the session waits until ready(view) holds after a change
// to one of keys, or until wait elapses, then calls render() for the answer.
struct Blocking {
  std::vector<std::string> keys;
  registry::WatchHub::Ready ready;
  std::chrono::milliseconds wait{0};
  std::function<Response()> render;
};

struct Gated;
using Outcome = std::variant<Response, Deferred, Blocking, Gated>;

// Handling that must wait for something before it can decide (a request
// whose ACL token this server does not know yet waits for the read barrier,
// then looks again). The session calls wait() once; wait must call `open`
// exactly once, from any thread. The session then calls then() on its own
// thread with the same request and what open said (it must not block, as
// handle()) and carries on with the outcome it returns as with handle()'s.
struct Gated {
  std::function<void(std::function<void(Status)> open)> wait;
  std::function<Outcome(const Request& req, const Status& opened)> then;
};

// What the session calls for every request. Must not block.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual Outcome handle(const Request& req) = 0;
  // Called by the session once the response is sent (for metrics).
  virtual void observe(const Request& req, int status, std::chrono::microseconds latency) = 0;
  virtual registry::WatchHub& watches() = 0;
};

}  // namespace cairn::http
