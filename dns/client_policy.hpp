// What the DNS servers allow each client, decided from its address: UDP
// answers within the rate limit (rrl.hpp), outside names forwarded only for
// clients of the allowed networks, and a cap on TCP connections per client.
// Internal to dns/.
#pragma once

#include <memory>
#include <vector>

#include "common/cidr.hpp"
#include "dns/rrl.hpp"

namespace cairn::dns {

struct ClientPolicy {
  std::unique_ptr<RateLimiter> rateLimiter;  // null: no limit
  std::vector<Cidr> recursionFrom;
  int maxTcpPerClient = 32;

  bool mayRecurse(const sockaddr* peer) const { return anyContains(recursionFrom, peer); }
};

}  // namespace cairn::dns
