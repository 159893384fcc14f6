// TcpServer: DNS over TCP per RFC 7766 on one Asio thread: several queries
// per connection, pipelined (answered as they are ready, forwarded ones
// possibly out of order), an idle timeout, and a connection limit (over it,
// new connections are closed at once). No Asio type here. Internal to dns/.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "dns/client_policy.hpp"
#include "dns/config.hpp"
#include "dns/forwarder.hpp"
#include "dns/metrics.hpp"
#include "dns/responder.hpp"

namespace cairn::dns {

struct TcpLimits {
  std::chrono::milliseconds idleTimeout{10'000};  // no query (or no progress) for this long: close
  int maxConnections = 512;  // over either limit, new connections are closed at once
  int maxPipelined = 64;     // answers queued or forwards in flight per connection
};

class TcpServer {
 public:
  // Binds address:port (the port must be given; UDP picked it). `forwarder`
  // may be null; it, `metrics` and `policy` must outlive the server.
  static Result<std::unique_ptr<TcpServer>> create(const std::string& address, uint16_t port,
                                                   const AnswerConfig& cfg,
                                                   std::unique_ptr<Responder> responder,
                                                   Forwarder* forwarder, DnsMetrics& metrics,
                                                   TcpLimits limits, const ClientPolicy& policy);
  virtual ~TcpServer() = default;

  virtual void start() = 0;
  // Closes the listener and every connection and joins the thread. Idempotent.
  virtual void stop() = 0;
  virtual size_t connections() const = 0;
};

}  // namespace cairn::dns
