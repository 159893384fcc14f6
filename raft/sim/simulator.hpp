// A deterministic simulation of a Raft cluster: nodes, a lossy network,
// crashes that lose unsynced writes, clock drift, partitions, membership
// churn and compaction, all driven by one seed. Invariants are checked as
// events happen; the client history is checked for linearizability at the
// end. Same seed, same run, byte for byte.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "raft/rawnode.hpp"
#include "raft/sim/kv.hpp"
#include "raft/sim/linearizability.hpp"

namespace cairn::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  PlantedBugs bugs;
  int faultTicks = 300;  // ticks of faults and client load
  int healTicks = 300;   // bound on ticks to recover after faults stop
  bool verbose = false;
};

struct Coverage {
  uint64_t elections = 0;      // campaigns started (candidate)
  uint64_t leaderChanges = 0;  // distinct (term, leader)
  uint64_t partitions = 0;
  uint64_t crashes = 0;
  uint64_t snapshotInstalls = 0;
  uint64_t membershipChanges = 0;
  uint64_t leaderTransfers = 0;
  uint64_t readIndexReads = 0;
  uint64_t opsChecked = 0;
  uint64_t messages = 0;
  void add(const Coverage& o);
  std::string format() const;
};

struct SimResult {
  bool ok = true;
  std::string violation;  // what broke, with the simulated time
  Coverage coverage;
  uint64_t events = 0;
};

SimResult runSimulation(const SimOptions& opts);

}  // namespace cairn::raft::sim
