#include "dns/rrl.hpp"

#include <algorithm>
#include <array>
#include <random>

namespace cairn::dns {

Status RateLimitConfig::validate() const {
  if (responsesPerSecond == 0)
    return invalidArgument("dns_config.rate_limit.responses_per_second: must be > 0");
  if (ipv4PrefixLength > 32)
    return invalidArgument("dns_config.rate_limit.ipv4_prefix_length: must be 0-32");
  if (ipv6PrefixLength > 128)
    return invalidArgument("dns_config.rate_limit.ipv6_prefix_length: must be 0-128");
  if (tableSize == 0 || tableSize > (1u << 24))
    return invalidArgument("dns_config.rate_limit.table_size: must be 1-16777216");
  if (auto c = parseCidrs(exempt); !c.ok())
    return invalidArgument("dns_config.rate_limit.exempt: " + c.error().message);
  return {};
}

Result<std::unique_ptr<RateLimiter>> RateLimiter::create(const RateLimitConfig& cfg) {
  if (Status st = cfg.validate(); !st.ok()) return st.error();
  std::unique_ptr<RateLimiter> r(new RateLimiter(cfg));
  r->exempt_ = *parseCidrs(cfg.exempt);
  r->rate_ = cfg.responsesPerSecond / 1e9;
  r->burst_ = cfg.burst ? cfg.burst : cfg.responsesPerSecond;
  r->seed_ = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  r->table_.resize(cfg.tableSize);
  return r;
}

// The client's prefix, hashed with a per-process seed (so that nobody can
// aim prefixes at one slot), never 0.
uint64_t RateLimiter::keyOf(const sockaddr* peer, bool& ok) const {
  std::array<uint8_t, 16> b;
  bool v6 = false;
  ok = addressBytes(peer, b, v6);
  if (!ok) return 0;
  unsigned len = v6 ? cfg_.ipv6PrefixLength : cfg_.ipv4PrefixLength;
  for (unsigned bit = len; bit < 128; ++bit)
    b[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  uint64_t h = seed_ ^ (v6 ? 0x9e3779b97f4a7c15ull : 0);
  for (uint8_t c : b) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h ? h : 1;
}

RateLimiter::Verdict RateLimiter::admit(const sockaddr* peer, uint64_t nowNs) {
  if (anyContains(exempt_, peer)) return Verdict::kAnswer;
  bool ok = false;
  uint64_t key = keyOf(peer, ok);
  if (!ok) return Verdict::kAnswer;
  size_t slot = key % table_.size();
  std::lock_guard lock(stripes_[slot % kStripes]);
  Bucket& b = table_[slot];
  if (b.key != key) {
    // A slot idle for a second is taken over; a busy one is shared.
    if (b.key == 0 || nowNs - b.lastNs > 1'000'000'000ull) {
      b = Bucket{key, nowNs, burst_, 0};
    }
  }
  if (nowNs > b.lastNs) {
    b.tokens = std::min(burst_, b.tokens + static_cast<double>(nowNs - b.lastNs) * rate_);
    b.lastNs = nowNs;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    b.limited = 0;
    return Verdict::kAnswer;
  }
  ++b.limited;
  if (cfg_.slip != 0 && b.limited % cfg_.slip == 0) return Verdict::kSlip;
  return Verdict::kDrop;
}

}  // namespace cairn::dns
