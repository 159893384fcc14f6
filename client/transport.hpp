// Transport: one HTTP/1.1 exchange at a time with one server. An interface so
// that the socket code (Beast, in http_transport.cpp) stays out of every
// header and Client can be driven by something else.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "client/address.hpp"
#include "client/types.hpp"
#include "common/result.hpp"

namespace cairn::client {

// One request. `target` is the path and query, already encoded; a non-empty
// body goes with `contentType`.
struct Request {
  std::string_view method;
  std::string_view target;
  std::string_view body;
  std::string_view contentType = "application/json";
  // Bounds this request instead of the transport's requestTimeout when
  // positive (a blocking query waits longer than an ordinary request).
  std::chrono::milliseconds timeout{0};
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Sends one request and reads the whole response, whatever its status.
  // Fails (kUnavailable) when the server cannot be reached, times out, or
  // closes the connection early; the message names the server's address.
  // Not thread-safe.
  virtual Result<Response> roundTrip(const Request& request) = 0;

  // Aborts the request in flight, if any (it fails with kUnavailable), or
  // else the next one. The only method that may be called from any thread.
  virtual void cancel() = 0;
};

struct TlsClientContext;  // client/tls_client.hpp

struct HttpTransportOptions {
  std::chrono::milliseconds connectTimeout{5000};
  // Bounds the write of a request plus the read of its whole response.
  std::chrono::milliseconds requestTimeout{30000};
  std::size_t maxResponseBytes = std::size_t{64} << 20;
  // Sent as X-Consul-Token on every request when not empty.
  std::string token;
  // Required for an endpoint with tls: the CAs, client certificate and name
  // checks of every connection (shared, read-only once built).
  std::shared_ptr<TlsClientContext> tls;
};

// A Beast client over TCP, or TLS for an https endpoint, that keeps its connection alive between
// requests and reconnects (retrying once) when the server has closed an idle
// one. Connects lazily, on the first request. Owns a private io_context and
// runs it on the calling thread only while a request is in flight.
std::unique_ptr<Transport> makeHttpTransport(Endpoint endpoint, HttpTransportOptions options);

}  // namespace cairn::client
