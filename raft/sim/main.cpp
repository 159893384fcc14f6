// raft_sim: runs the deterministic Raft simulation over a range of seeds.
//
//   raft_sim --seeds 2000 --from 0        run seeds [0, 2000)
//   raft_sim --seed 1234                  replay one seed, byte for byte
//   raft_sim --seeds 500 --bug NAME --expect-violation
//                                         a planted bug must be caught
//   --require-coverage                    fail if the faults were too gentle
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "raft/sim/simulator.hpp"

using cairn::raft::PlantedBugs;
using namespace cairn::raft::sim;

namespace {

bool setBug(PlantedBugs& b, const std::string& name) {
  if (name == "vote-not-persisted")
    b.voteNotPersisted = true;
  else if (name == "commit-old-term")
    b.commitOldTermByCounting = true;
  else if (name == "follower-commit-past-match")
    b.followerCommitPastMatch = true;
  else if (name == "read-index-before-commit")
    b.readIndexBeforeTermCommit = true;
  else if (name == "skip-truncate")
    b.skipTruncateOnConflict = true;
  else
    return false;
  return true;
}

int usage() {
  std::fprintf(
      stderr,
      "usage: raft_sim [--seed N | --seeds N [--from S]] [--bug NAME] [--expect-violation]\n"
      "                [--require-coverage] [--fault-ticks N] [--quiet]\n"
      "bugs: vote-not-persisted commit-old-term follower-commit-past-match\n"
      "      read-index-before-commit skip-truncate\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t from = 0, count = 100;
  bool single = false, expectViolation = false, requireCoverage = false, quiet = false;
  std::string bug;
  SimOptions base;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--seed") {
      const char* v = next();
      if (!v) return usage();
      from = std::strtoull(v, nullptr, 10);
      count = 1;
      single = true;
    } else if (a == "--seeds") {
      const char* v = next();
      if (!v) return usage();
      count = std::strtoull(v, nullptr, 10);
    } else if (a == "--from") {
      const char* v = next();
      if (!v) return usage();
      from = std::strtoull(v, nullptr, 10);
    } else if (a == "--bug") {
      const char* v = next();
      if (!v || !setBug(base.bugs, v)) return usage();
      bug = v;
    } else if (a == "--fault-ticks") {
      const char* v = next();
      if (!v) return usage();
      base.faultTicks = std::atoi(v);
    } else if (a == "--expect-violation") {
      expectViolation = true;
    } else if (a == "--require-coverage") {
      requireCoverage = true;
    } else if (a == "--verbose") {
      base.verbose = true;
    } else if (a == "--quiet") {
      quiet = true;
    } else {
      return usage();
    }
  }
  Coverage total;
  uint64_t violations = 0, events = 0;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seed = from; seed < from + count; ++seed) {
    SimOptions o = base;
    o.seed = seed;
    SimResult r = runSimulation(o);
    total.add(r.coverage);
    events += r.events;
    if (!r.ok) {
      ++violations;
      std::printf("VIOLATION seed=%llu: %s\n  replay: raft_sim --seed %llu%s%s\n",
                  static_cast<unsigned long long>(seed), r.violation.c_str(),
                  static_cast<unsigned long long>(seed), bug.empty() ? "" : " --bug ", bug.c_str());
      if (expectViolation) break;
    } else if (single && !quiet) {
      std::printf("seed=%llu ok events=%llu %s\n", static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(r.events), r.coverage.format().c_str());
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seeds=%llu from=%llu violations=%llu wall=%.2fs avg_ms=%.2f events=%llu\n",
              static_cast<unsigned long long>(count), static_cast<unsigned long long>(from),
              static_cast<unsigned long long>(violations), secs, 1000 * secs / double(count),
              static_cast<unsigned long long>(events));
  std::printf("coverage: %s\n", total.format().c_str());
  if (expectViolation) {
    if (violations == 0) {
      std::printf("FAIL: planted bug %s was not caught in %llu seeds\n", bug.c_str(),
                  static_cast<unsigned long long>(count));
      return 1;
    }
    std::printf("ok: planted bug %s caught\n", bug.c_str());
    return 0;
  }
  if (requireCoverage) {
    struct Min {
      const char* name;
      uint64_t got, want;
    } mins[] = {
        {"elections", total.elections, count},
        {"leader_changes", total.leaderChanges, count},
        {"partitions", total.partitions, count},
        {"crashes", total.crashes, count / 2},
        {"snapshot_installs", total.snapshotInstalls, count / 10},
        {"membership_changes", total.membershipChanges, count / 5},
        {"leader_transfers", total.leaderTransfers, count / 10},
        {"read_index_reads", total.readIndexReads, count * 20},
        {"ops_checked", total.opsChecked, count * 50},
    };
    bool bad = false;
    for (const auto& m : mins)
      if (m.got < m.want) {
        std::printf("FAIL: coverage %s=%llu below the minimum %llu\n", m.name,
                    static_cast<unsigned long long>(m.got),
                    static_cast<unsigned long long>(m.want));
        bad = true;
      }
    if (bad) return 1;
  }
  return violations == 0 ? 0 : 1;
}
