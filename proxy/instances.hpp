// Decoding the registry's answer about an upstream into balancer instances,
// and the blocking-query index rules. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "proxy/balancer.hpp"

namespace cairn::proxy {

// Parses the body of GET /v1/health/service/<name>: one Instance per entry,
// id "node/serviceID", address the service's or else the node's, weight
// Weights.Passing (1 when absent). Entries without a usable port are
// dropped. Fails (kInvalidArgument) on a body that is not such a list.
Result<std::vector<Instance>> decodeHealthInstances(std::string_view body);

// The index to send with the next blocking query, given the one we sent and
// the X-Consul-Index that came back, as Consul's documentation asks: an
// index that went backwards (a snapshot restore, a new leader with an older
// view) starts over from 0, and an index below 1 is treated as 1.
uint64_t nextBlockingIndex(uint64_t sent, uint64_t received);

}  // namespace cairn::proxy
