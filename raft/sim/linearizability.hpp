// A linearizability checker for register histories (Wing & Gong's search
// with Lowe's memoisation, as in Porcupine), with operations partitioned by
// key. Operations whose outcome is unknown end at infinity: they may take
// effect at any point after their call, or never.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cairn::raft::sim {

struct HistoryOp {
  bool isWrite = false;
  std::string key;
  std::string value;  // written value, or the value a read returned
  int64_t call = 0;
  int64_t ret = std::numeric_limits<int64_t>::max();  // max: unknown outcome
};

struct CheckResult {
  bool ok = true;
  std::string badKey;
  size_t opsChecked = 0;
  bool gaveUp = false;  // the search hit its step budget (treated as ok)
};

// Checks every key's sub-history. `budget` bounds the search steps per key.
CheckResult checkLinearizable(const std::vector<HistoryOp>& history, uint64_t budget = 2'000'000);

}  // namespace cairn::raft::sim
