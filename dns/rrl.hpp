// Response rate limiting, as BIND's and Knot's RRL: a token bucket of
// answers per second for each client prefix (IPv4 /24 and IPv6 /56 by
// default). Over the limit, one answer in `slip` is sent truncated (TC set,
// no records: a real client retries over TCP, which cannot be spoofed) and
// the others are dropped, so a flood with a forged source gains nothing
// from this server, while genuine clients of that prefix still get through.
//
// Buckets live in a fixed table (no allocation per query); prefixes that
// hash to the slot of a bucket used within the last second share it.
// Thread-safe: the UDP workers share one limiter.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "common/result.hpp"

namespace cairn::dns {

struct RateLimitConfig {
  bool enabled = false;
  uint32_t responsesPerSecond = 1000;  // per prefix
  uint32_t burst = 0;                  // bucket size; 0: responsesPerSecond
  // Over the limit: every slip-th answer truncated, the rest dropped. 0:
  // drop all; 1: truncate all.
  uint32_t slip = 2;
  uint8_t ipv4PrefixLength = 24;
  uint8_t ipv6PrefixLength = 56;
  std::vector<std::string> exempt = {"127.0.0.0/8", "::1/128"};  // never limited
  uint32_t tableSize = 1 << 16;

  Status validate() const;
};

class RateLimiter {
 public:
  enum class Verdict : uint8_t { kAnswer, kSlip, kDrop };

  static Result<std::unique_ptr<RateLimiter>> create(const RateLimitConfig& cfg);

  // Whether to answer a query from `peer` at `nowNs` (a monotonic clock).
  Verdict admit(const sockaddr* peer, uint64_t nowNs);

 private:
  struct Bucket {
    uint64_t key = 0;  // 0: unused
    uint64_t lastNs = 0;
    double tokens = 0;
    uint32_t limited = 0;  // answers over the limit since it was last under
  };
  static constexpr size_t kStripes = 64;

  explicit RateLimiter(const RateLimitConfig& cfg) : cfg_(cfg) {}
  uint64_t keyOf(const sockaddr* peer, bool& ok) const;

  RateLimitConfig cfg_;
  std::vector<Cidr> exempt_;
  double rate_ = 0;   // tokens per ns
  double burst_ = 0;  // tokens
  uint64_t seed_ = 0;
  std::vector<Bucket> table_;
  std::mutex stripes_[kStripes];
};

}  // namespace cairn::dns
