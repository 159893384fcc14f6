// DnsServer: Cairn's DNS interface on UDP and TCP, answering from the
// registry's current view (WatchHub::view(), lock-free per query) and
// forwarding names outside the domains to the recursors, if any.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "dns/config.hpp"
#include "dns/load_table.hpp"
#include "registry/watch.hpp"

namespace cairn::dns {

class DnsServer {
 public:
  // Binds UDP (one socket per worker) and TCP on opts.address:opts.port
  // (port 0: one free port for both) and starts serving. `hub` and `loads`
  // (may be null: no least-loaded data) must outlive the server.
  static Result<std::unique_ptr<DnsServer>> create(const DnsOptions& opts,
                                                   const registry::WatchHub& hub, LoadTable* loads);
  virtual ~DnsServer() = default;

  virtual uint16_t port() const = 0;
  // Stops serving and joins every thread. Idempotent; also done on destruction.
  virtual void stop() = 0;

  struct Stats {
    uint64_t udpQueries = 0;
    uint64_t tcpQueries = 0;
    uint64_t forwarded = 0;
    uint64_t forwardFailures = 0;
    size_t tcpConnections = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace cairn::dns
