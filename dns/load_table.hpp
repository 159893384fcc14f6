// LoadTable: the load each service instance last reported (PUT
// /v1/agent/service/load/:id), held in memory as soft state. Never written
// through Raft: a report changes no catalog index. A report expires when it
// is not refreshed within its TTL.
//
// Thread-safety: every method may be called from any thread. Reads through
// a LoadSlot are lock-free (the DNS hot path); the rest takes a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace cairn::dns {

// One instance's report. Written by report(), read by anyone holding it.
struct LoadSlot {
  std::atomic<double> load{NAN};
  std::atomic<int64_t> expiresNs{0};
};

struct LoadTableOptions {
  std::chrono::milliseconds defaultTtl{30'000};
  std::chrono::milliseconds maxTtl{600'000};
  size_t maxEntries = 1'000'000;
};

class LoadTable {
 public:
  using Clock = std::function<int64_t()>;  // monotonic nanoseconds
  using Options = LoadTableOptions;

  explicit LoadTable(Options opts = {}, Clock clock = {});

  // Records `load` (finite, >= 0) for the instance (node, serviceId), valid
  // for `ttl` (0: the default; capped at maxTtl). Returns false when the
  // table is full of live entries (the report is dropped).
  bool report(std::string_view node, std::string_view serviceId, double load,
              std::chrono::milliseconds ttl = {});

  // The instance's unexpired load, or NaN.
  double load(std::string_view node, std::string_view serviceId) const;

  // The slot the instance's reports go to, created when absent, for
  // lock-free reads with read(). The slot stays valid while held.
  std::shared_ptr<const LoadSlot> slot(std::string_view node, std::string_view serviceId);

  int64_t now() const { return clock_(); }
  // The slot's load if not expired at nowNs, else NaN.
  static double read(const LoadSlot& s, int64_t nowNs) {
    if (nowNs >= s.expiresNs.load(std::memory_order_acquire)) return NAN;
    return s.load.load(std::memory_order_relaxed);
  }

  size_t size() const;
  uint64_t reportsTotal() const { return reports_.load(std::memory_order_relaxed); }

 private:
  static std::string key(std::string_view node, std::string_view serviceId);
  // Drops expired slots nobody else holds. Called with mu_ held.
  void sweepLocked(int64_t nowNs);

  Options opts_;
  Clock clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<LoadSlot>> slots_;
  size_t sweepAt_ = 1024;
  int64_t lastSweepNs_ = INT64_MIN / 2;
  std::atomic<uint64_t> reports_{0};
};

}  // namespace cairn::dns
