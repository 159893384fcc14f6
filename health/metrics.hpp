// CheckerMetrics: the health checker's probe counters, its checks by type
// and the histogram of schedule lateness (how long after its due time a
// probe started), rendered as Prometheus text on the agent's /metrics page.
// (The checker's own renderMetrics has the checks running and the status
// proposals.)
//
// Counting must cost next to nothing per probe: the checker's thread is the
// only writer, so an increment is a relaxed load and store (no lock, no
// atomic read-modify-write, no allocation). A scrape reads on its own
// thread; it may miss increments in flight but never reads a torn value.
// The object must outlive the checker that writes it and the page that
// renders it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "registry/model.hpp"

namespace cairn::health {

// The kinds of checks the checker counts.
enum class CheckKind : uint8_t { kHttp, kTcp, kTtl, kScript, kGrpc };
inline constexpr size_t kCheckKinds = 5;
// "http", "tcp", "ttl" and "grpc" by name; anything else counts as a script
// check (the only other type the checker runs).
CheckKind checkKindOf(const std::string& type);

// Upper bounds of the lateness buckets, in microseconds (the last bucket,
// +Inf, is implicit). About three per doubling below a second, so a
// percentile read from the buckets is within ~40 % of the exact value.
inline constexpr std::array<uint32_t, 31> kLatenessBoundsUs = {
    100,    200,     300,     500,     700,     1000,    1500,    2000,     3000,    5000,   7000,
    10000,  15000,   20000,   30000,   50000,   70000,   100000,  150000,   200000,  300000, 500000,
    700000, 1000000, 1500000, 2000000, 3000000, 5000000, 7000000, 10000000, 30000000};
// The bucket of a lateness (negative counts as 0): the first bound >= it.
size_t latenessBucket(std::chrono::microseconds lateness);

class CheckerMetrics {
 public:
  // A probe of `kind` started `lateness` after its due time.
  void probeStarted(CheckKind kind, std::chrono::microseconds lateness);
  // A run came due while the previous probe of that check was still in
  // flight, and was not started.
  void probeSkipped() { inc(skipped_); }
  void probeFinished(registry::HealthStatus s);
  // The checks the checker runs now, by kind.
  void setChecks(const std::array<uint64_t, kCheckKinds>& n);

  // Appends cairn_health_* in Prometheus text format. Thread-safe.
  void render(std::string& out) const;

 private:
  using Counter = std::atomic<uint64_t>;
  static void inc(Counter& c, uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<Counter, kCheckKinds> started_{};
  std::array<Counter, 3> finished_{};  // passing, warning, critical
  Counter skipped_{0};
  std::array<Counter, kCheckKinds> checks_{};
  std::array<Counter, kLatenessBoundsUs.size() + 1> lateness_{};
  Counter latenessSumUs_{0};
  Counter latenessMaxUs_{0};
};

}  // namespace cairn::health
