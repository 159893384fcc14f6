// Service instances found by DNS, RFC 2782 selection among them, and a cache
// of DNS answers that honours their TTLs. Pure: the clock and the random
// generator are the caller's.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace cairn::client {

// One SRV record with the addresses of its target (from the answer's
// additional section, else from A/AAAA lookups of the target). For a name
// without SRV records (the A/AAAA fallback) the target is the name itself,
// the port 0 and the weight 1.
struct SrvInstance {
  std::string target;
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint32_t ttl = 0;               // seconds, the smallest of the records used
  std::vector<std::string> addresses;  // IPv4 first, then IPv6, as text
};

// RFC 2782: among the instances of the lowest priority, one chosen at random
// with probability weight / (sum of weights); when every weight there is 0,
// uniformly. Weight-0 instances next to weighted ones get 1 / (sum + 1)
// together, as the RFC's running-sum rule gives them. Returns the index into `instances`, nullopt
// when it is empty.
std::optional<std::size_t> selectSrv(const std::vector<SrvInstance>& instances,
                                     std::mt19937_64& rng);

// DNS answers by (name, type), each kept until its TTL runs out. An answer
// with a TTL of 0 is not kept. Bounded: past maxEntries the entry closest to
// expiring goes first.
template <typename Answer>
class TtlCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TtlCache(std::size_t maxEntries) : max_(maxEntries) {}

  void put(const std::string& name, std::uint16_t type, Answer answer, std::uint32_t ttlSeconds,
           Clock::time_point now) {
    if (ttlSeconds == 0 || max_ == 0) return;
    auto key = std::make_pair(name, type);
    entries_.erase(key);
    while (entries_.size() >= max_) {
      auto soonest = entries_.begin();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.expires < soonest->second.expires) soonest = it;
      }
      entries_.erase(soonest);
    }
    entries_.emplace(key, Entry{std::move(answer), now + std::chrono::seconds(ttlSeconds)});
  }

  // The answer, with its TTL lowered by the time it has been kept.
  std::optional<std::pair<Answer, std::uint32_t>> get(const std::string& name, std::uint16_t type,
                                                      Clock::time_point now) {
    auto it = entries_.find(std::make_pair(name, type));
    if (it == entries_.end()) return std::nullopt;
    if (now >= it->second.expires) {
      entries_.erase(it);
      return std::nullopt;
    }
    auto left = std::chrono::ceil<std::chrono::seconds>(it->second.expires - now);
    return std::make_pair(it->second.answer, static_cast<std::uint32_t>(left.count()));
  }

  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Answer answer;
    Clock::time_point expires;
  };
  std::size_t max_;
  std::map<std::pair<std::string, std::uint16_t>, Entry> entries_;
};

}  // namespace cairn::client
