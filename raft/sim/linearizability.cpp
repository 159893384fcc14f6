#include "raft/sim/linearizability.hpp"

#include <algorithm>
#include <map>
#include <unordered_set>

namespace cairn::raft::sim {
namespace {

struct Event {
  bool isCall;
  size_t op;
  int64_t time;
  int prev = -1, next = -1;
  int match = -1;  // call -> its return event
};

struct CacheKey {
  std::vector<uint64_t> bits;
  std::string state;
  bool operator==(const CacheKey&) const = default;
};
struct CacheHash {
  size_t operator()(const CacheKey& k) const {
    size_t h = std::hash<std::string>()(k.state);
    for (uint64_t b : k.bits) h = h * 1315423911u ^ std::hash<uint64_t>()(b);
    return h;
  }
};

// Returns true if the ops (all on one key) are linearizable.
bool checkKey(const std::vector<const HistoryOp*>& ops, uint64_t budget, bool& gaveUp) {
  std::vector<Event> ev;
  ev.reserve(ops.size() * 2);
  for (size_t i = 0; i < ops.size(); ++i) {
    ev.push_back({true, i, ops[i]->call});
    ev.push_back({false, i, ops[i]->ret});
  }
  // Calls sort before returns at the same time: overlapping, not ordered.
  std::stable_sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.isCall && !b.isCall;
  });
  std::vector<int> callOf(ops.size()), retOf(ops.size());
  for (size_t i = 0; i < ev.size(); ++i)
    (ev[i].isCall ? callOf : retOf)[ev[i].op] = static_cast<int>(i);
  for (size_t i = 0; i < ev.size(); ++i) {
    ev[i].prev = static_cast<int>(i) - 1;
    ev[i].next = i + 1 < ev.size() ? static_cast<int>(i + 1) : -1;
    if (ev[i].isCall) ev[i].match = retOf[ev[i].op];
  }
  int head = ev.empty() ? -1 : 0;
  auto unlinkOne = [&](int i) {
    if (ev[i].prev >= 0)
      ev[ev[i].prev].next = ev[i].next;
    else
      head = ev[i].next;
    if (ev[i].next >= 0) ev[ev[i].next].prev = ev[i].prev;
  };
  auto relinkOne = [&](int i) {
    if (ev[i].prev >= 0)
      ev[ev[i].prev].next = i;
    else
      head = i;
    if (ev[i].next >= 0) ev[ev[i].next].prev = i;
  };
  auto lift = [&](int call) {
    unlinkOne(call);
    unlinkOne(ev[call].match);
  };
  auto unlift = [&](int call) {
    relinkOne(ev[call].match);
    relinkOne(call);
  };

  std::vector<uint64_t> linearized((ops.size() + 63) / 64, 0);
  std::unordered_set<CacheKey, CacheHash> cache;
  std::vector<std::pair<int, std::string>> stack;  // (call event, state before)
  std::string state;                               // "" = never written
  int entry = head;
  uint64_t steps = 0;
  while (head != -1) {
    if (++steps > budget) {
      gaveUp = true;
      return true;
    }
    const Event& e = ev[entry];
    if (e.isCall) {
      const HistoryOp& op = *ops[e.op];
      bool ok = op.isWrite || op.value == state;
      std::string next = op.isWrite ? op.value : state;
      if (ok) {
        auto bits = linearized;
        bits[e.op / 64] |= 1ull << (e.op % 64);
        CacheKey key{bits, next};
        if (cache.insert(key).second) {
          stack.emplace_back(entry, state);
          state = std::move(next);
          linearized = std::move(bits);
          lift(entry);
          entry = head;
          continue;
        }
      }
      entry = e.next;
    } else {
      if (stack.empty()) return false;
      auto [call, before] = stack.back();
      stack.pop_back();
      state = std::move(before);
      linearized[ev[call].op / 64] &= ~(1ull << (ev[call].op % 64));
      unlift(call);
      entry = ev[call].next;
    }
  }
  return true;
}

}  // namespace

CheckResult checkLinearizable(const std::vector<HistoryOp>& history, uint64_t budget) {
  std::map<std::string, std::vector<const HistoryOp*>> byKey;
  for (const auto& op : history) byKey[op.key].push_back(&op);
  CheckResult r;
  for (const auto& [key, ops] : byKey) {
    bool gaveUp = false;
    r.opsChecked += ops.size();
    if (!checkKey(ops, budget, gaveUp)) {
      r.ok = false;
      r.badKey = key;
      return r;
    }
    r.gaveUp |= gaveUp;
  }
  return r;
}

}  // namespace cairn::raft::sim
