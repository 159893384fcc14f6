// Checker: runs the catalog's HTTP, TCP, TTL and script checks that this
// server owns and writes their status changes through the replicator.
//
// It watches the catalog (WatchHub, checks table) for checks to add, change
// or drop, so checks registered by any path (API, config, another server)
// are picked up. Per check: a StatusMachine (status.hpp) decides which
// results are written; runs are jittered (schedule.hpp); TTL checks have a
// timer that turns them critical when no report comes within the TTL; a
// service whose check stays critical for deregister_critical_service_after
// is deregistered. Status changes found within `batchWindow` are proposed
// together, the latest per check only.
//
// Threading: everything (state, timers, probes) runs on one internal
// thread. create/ttlReported/destructor may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "health/metrics.hpp"
#include "health/status.hpp"
#include "registry/model.hpp"
#include "registry/replicator.hpp"
#include "registry/watch.hpp"

namespace cairn::health {

struct CheckerConfig {
  // Which checks run here. Null: every check (one server owns them all).
  std::function<bool(const registry::Check&)> owns;
  bool enableScriptChecks = false;
  std::chrono::milliseconds checkUpdateInterval = kDefaultCheckUpdateInterval;
  std::chrono::milliseconds batchWindow = std::chrono::milliseconds(50);
  // Runs are never more often than this (Consul's minimum check interval).
  std::chrono::milliseconds minInterval = std::chrono::seconds(1);
  // How often services are checked against deregister_critical_service_after.
  std::chrono::milliseconds reapEvery = std::chrono::seconds(1);
  uint64_t seed = 0;  // jitter; 0: from std::random_device
  // Propose several changes as one CheckStatusBatchCommand (command version
  // 2). Only when every server applies version 2; otherwise one
  // CheckStatusCommand per change.
  bool batchCommand = false;
  // Where probes, lateness and the check count are counted; must outlive
  // the checker. Null: not counted.
  CheckerMetrics* metrics = nullptr;

  Status validate() const;
};

class Checker {
 public:
  virtual ~Checker() = default;

  // A TTL report for a check (PUT /v1/agent/check/pass|warn|fail|update):
  // restarts its TTL timer. The report itself is written by the caller if
  // it changes the catalog. Thread-safe, does not block.
  virtual void ttlReported(const std::string& node, const std::string& checkId,
                           registry::HealthStatus status, const std::string& output) = 0;

  // Proposals made so far (for tests and metrics).
  virtual uint64_t proposals() const = 0;

  // Starts the thread. The hub and the replicator must outlive the Checker.
  static Result<std::unique_ptr<Checker>> create(CheckerConfig cfg, registry::WatchHub& hub,
                                                 registry::Replicator& replicator);
};

}  // namespace cairn::health
