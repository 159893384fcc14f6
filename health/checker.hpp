// Checker: runs the catalog's HTTP, TCP, gRPC, TTL and script checks that this
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
// Where checks run: with a one-server replicator (empty selfId()) every
// check runs here. In a cluster, a check runs on the live server that wins
// its rendezvous hash (rendezvous.hpp) over the live servers the leader
// publishes (Replicator::liveness()); every server computes the same owner
// from the same published list, so in steady state each check runs exactly
// once, and when the list changes the checks of a dead or new server move
// within a poll. A server cut off from the leader for `staleGrace` runs
// nothing (the majority side has moved its checks elsewhere).
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
#include "health/probe.hpp"
#include "health/status.hpp"
#include "registry/model.hpp"
#include "registry/replicator.hpp"
#include "registry/watch.hpp"

namespace cairn::health {

struct CheckerConfig {
  bool enableScriptChecks = false;
  std::chrono::milliseconds checkUpdateInterval = kDefaultCheckUpdateInterval;
  std::chrono::milliseconds batchWindow = std::chrono::milliseconds(50);
  // Runs are never more often than this (Consul's minimum check interval).
  std::chrono::milliseconds minInterval = std::chrono::seconds(1);
  // The run timer wakes at most once per this: runs that come due within
  // it start together, up to this late (lateness p99 <= 100 ms is the
  // target). Fewer wake-ups and timer re-arms: 1,000 runs/s cost ~50
  // wake-ups, not 1,000; the io_uring prober polls on the same grid. 20 ms
  // rather than 10: measured, a third less CPU for the bare io_uring prober
  // (BENCHMARKS.md section 7). 0: wake for every due time.
  std::chrono::milliseconds runGranularity = std::chrono::milliseconds(20);
  // How often services are checked against deregister_critical_service_after.
  std::chrono::milliseconds reapEvery = std::chrono::seconds(1);
  // How often the live servers are read (ownership moves within this).
  std::chrono::milliseconds ownershipPoll = std::chrono::milliseconds(200);
  // How long a server cut off from the leader keeps running its checks.
  std::chrono::milliseconds staleGrace = std::chrono::seconds(3);
  // How HTTP and TCP probes end their connection (the agent's check_close).
  ProbeClose probeClose = ProbeClose::kFin;
  // Plain HTTP and TCP probes to IP literals through io_uring when the
  // kernel allows it (ProberOptions::ioUring; the agent's check_io_uring).
  bool probeIoUring = true;
  uint64_t seed = 0;  // jitter; 0: from std::random_device
  // Several changes go as one CheckStatusBatchCommand once every server
  // applies command version 2 (Replicator::clusterCommandVersion());
  // before that, one CheckStatusCommand per change.
  // Where probes, lateness and the checks by type are counted; must outlive
  // the checker. Null: not counted.
  CheckerMetrics* metrics = nullptr;

  Status validate() const;
};

class Checker {
 public:
  virtual ~Checker() = default;

  // A TTL report for a check (PUT /v1/agent/check/pass|warn|fail|update):
  // restarts its TTL timer if the check runs here, else passes the report
  // to the server that runs it (Replicator::forwardTtl) unless it came from
  // another server already. The report itself is written by the caller if
  // it changes the catalog. Thread-safe, does not block.
  virtual void ttlReported(const registry::Replicator::TtlReport& report,
                           bool fromAnotherServer) = 0;

  // Checks running on this server now, and TTL reports passed on to the
  // server running their check (for metrics and tests).
  virtual size_t running() const = 0;
  virtual uint64_t ttlForwarded() const = 0;
  // Appends the checker's Prometheus metrics.
  virtual void renderMetrics(std::string& out) const = 0;

  // Proposals made so far (for tests and metrics).
  virtual uint64_t proposals() const = 0;

  // Starts the thread. The hub and the replicator must outlive the Checker.
  static Result<std::unique_ptr<Checker>> create(CheckerConfig cfg, registry::WatchHub& hub,
                                                 registry::Replicator& replicator);
};

}  // namespace cairn::health
