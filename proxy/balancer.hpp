// Balancer: chooses an instance of one upstream for each new connection, by
// the upstream's policy, and keeps the per-instance state the policies need
// (active connections, a latency EWMA, consecutive connect failures and
// outlier ejection). Pure logic: no sockets, no clock (callers pass `now`),
// randomness from a seeded generator. Not thread-safe: one Balancer belongs
// to the thread that runs its upstream's connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"

namespace cairn::proxy {

using TimePoint = std::chrono::steady_clock::time_point;

enum class Policy { kRoundRobin, kWeighted, kRandom, kLeastRequest, kPeakEwma, kRingHash };

// "round_robin", "weighted", "random", "least_request", "peak_ewma",
// "ring_hash"; anything else is kInvalidArgument naming the choices.
Result<Policy> parsePolicy(std::string_view name);
std::string_view policyName(Policy policy);

// One healthy instance of an upstream as the registry lists it.
struct Instance {
  std::string id;  // unique within the upstream: "node/serviceID"
  std::string address;
  uint16_t port = 0;
  uint32_t weight = 1;  // Weights.Passing; 0 is never chosen by `weighted`
  bool operator==(const Instance&) const = default;
};

struct BalancerConfig {
  Policy policy = Policy::kRoundRobin;
  uint64_t seed = 1;
  // peak_ewma: how fast the latency estimate forgets (the EWMA's time
  // constant), and the estimate of an instance with no sample yet.
  std::chrono::milliseconds ewmaDecay{10000};
  std::chrono::microseconds defaultRtt{30000};
  // ring_hash: points on the ring per instance (times its weight, capped).
  uint32_t ringPointsPerInstance = 160;
  // Outlier ejection: after `ejectAfter` consecutive connect failures an
  // instance is skipped for base * 2^(k-1) (capped at max) on its k-th
  // ejection in a row. When the back-off ends it is on probation: one more
  // failure ejects it again (k+1); one success clears k.
  uint32_t ejectAfter = 3;
  std::chrono::milliseconds ejectBase{5000};
  std::chrono::milliseconds ejectMax{120000};

  // Names the bad field.
  Status validate() const;
};

// Counters of one instance, for /metrics and tests.
struct InstanceStats {
  std::string id;
  uint64_t picks = 0;
  uint64_t ejections = 0;
  uint32_t active = 0;
  bool ejected = false;
  double ewmaMicros = 0;  // peak_ewma's current estimate (decayed to `now`)
};

class Balancer {
 public:
  explicit Balancer(BalancerConfig config);

  // Replaces the instance list. Instances whose id stays keep their state
  // (active count, EWMA, ejection); the others' state is dropped. Duplicate
  // ids: the first wins.
  void setInstances(std::vector<Instance> instances);
  const std::vector<Instance>& instances() const { return instances_; }

  // Chooses an instance for a new connection, or nullopt when there is none
  // left to try. `clientKey` feeds ring_hash (the client's address); `tried`
  // lists ids already tried for this connection (a retry goes elsewhere).
  // Ejected instances are skipped, unless every untried instance is ejected
  // (panic mode, as Envoy does: a fully ejected upstream is still tried).
  // The returned pointer is valid until the next setInstances().
  const Instance* pick(TimePoint now, std::string_view clientKey,
                       std::span<const std::string> tried = {});

  // Reports of the connection's life. Unknown ids (an instance removed in
  // the meantime) are ignored.
  void onConnectSuccess(std::string_view id);
  // Returns true when this failure ejected the instance.
  bool onConnectFailure(std::string_view id, TimePoint now);
  void onConnectionStart(std::string_view id);
  void onConnectionEnd(std::string_view id);
  // A latency sample (connect time, or time to the first byte back) for
  // peak_ewma: a sample above the estimate replaces it (the "peak"), a lower
  // one is averaged in with weight 1 - exp(-elapsed/decay).
  void observeLatency(std::string_view id, std::chrono::microseconds rtt, TimePoint now);

  std::vector<InstanceStats> stats(TimePoint now) const;
  uint64_t totalEjections() const { return totalEjections_; }
  const BalancerConfig& config() const { return config_; }

 private:
  struct State {
    uint32_t active = 0;
    uint32_t failures = 0;  // consecutive connect failures
    uint32_t level = 0;     // consecutive ejections
    bool probation = false;
    TimePoint ejectedUntil{};
    double ewma = -1;  // microseconds; < 0: no sample yet
    TimePoint ewmaAt{};
    int64_t swrrCurrent = 0;  // weighted: smooth weighted round robin
    uint64_t picks = 0;
    uint64_t ejections = 0;
  };

  State* find(std::string_view id);
  bool isEjected(const State& s, TimePoint now) const { return now < s.ejectedUntil; }
  double cost(size_t k, TimePoint now) const;  // peak_ewma
  double decayedEwma(const State& s, TimePoint now) const;
  size_t uniform(size_t n);
  std::optional<size_t> choose(const std::vector<size_t>& candidates, std::string_view clientKey,
                               TimePoint now);
  std::optional<size_t> ringLookup(const std::vector<size_t>& candidates,
                                   std::string_view clientKey) const;
  void rebuildRing();

  BalancerConfig config_;
  std::mt19937_64 rng_;
  std::vector<Instance> instances_;
  std::vector<State> states_;  // parallel to instances_
  std::unordered_map<std::string, size_t> byId_;
  std::vector<std::pair<uint64_t, size_t>> ring_;  // (hash, instance index), sorted
  size_t rrNext_ = 0;
  uint64_t totalEjections_ = 0;
};

// The ring's hash: 64-bit FNV-1a with a final avalanche (stable across runs
// and builds, so the same client maps to the same instance everywhere).
uint64_t ringHash(std::string_view key);

}  // namespace cairn::proxy
