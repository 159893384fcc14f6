// The proxy's counters, and their rendering in Prometheus text format.
// Plain values owned by the io thread; render() is pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/balancer.hpp"

namespace cairn::proxy {

struct ListenerCounters {
  uint64_t accepted = 0;
  uint64_t active = 0;
  uint64_t rejectedLimit = 0;       // over -max-connections
  uint64_t rejectedNoInstance = 0;  // nothing to connect to
  uint64_t connectFailures = 0;     // attempts that failed or timed out
  uint64_t failed = 0;              // connections given up after every attempt
  uint64_t handshakeFailures = 0;
  uint64_t handshakesFull = 0;     // TLS handshakes done with certificates
  uint64_t handshakesResumed = 0;  // TLS sessions resumed from a ticket
  uint64_t idleTimeouts = 0;
  uint64_t bytesUp = 0;       // client -> server
  uint64_t bytesDown = 0;     // server -> client
  uint64_t bytesSpliced = 0;  // of both, moved with splice(2) (plain bulk transfers)
};

struct UpstreamSnapshot {
  std::string name;
  std::string policy;
  const ListenerCounters* counters = nullptr;
  std::vector<InstanceStats> instances;
  uint64_t ejections = 0;
};

std::string renderMetrics(const ListenerCounters* inbound,
                          const std::vector<UpstreamSnapshot>& upstreams, bool draining);

}  // namespace cairn::proxy
