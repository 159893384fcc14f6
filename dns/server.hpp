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
#include "dns/metrics.hpp"
#include "registry/watch.hpp"

namespace cairn::dns {

class DnsServer {
 public:
  // Binds UDP (one socket per worker) and TCP on opts.address:opts.port
  // (port 0: one free port for both) and starts serving. `hub`, `loads`
  // (may be null: no least-loaded data) and `metrics` (may be null: the
  // server keeps counters of its own) must outlive the server.
  static Result<std::unique_ptr<DnsServer>> create(const DnsOptions& opts,
                                                   const registry::WatchHub& hub, LoadTable* loads,
                                                   DnsMetrics* metrics = nullptr);
  virtual ~DnsServer() = default;

  virtual uint16_t port() const = 0;
  // Stops serving and joins every thread. Idempotent; also done on destruction.
  virtual void stop() = 0;

  struct Stats {
    DnsMetrics::Totals counters;  // of every server sharing the DnsMetrics
    size_t tcpConnections = 0;
  };
  virtual Stats stats() const = 0;
};

}  // namespace cairn::dns
