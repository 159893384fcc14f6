// cairn_lincheck: checks a recorded client history of register operations
// for linearizability with the simulator's checker (raft/sim/linearizability).
//
// The history is text, one operation per line ('#' starts a comment):
//
//   <w|r> <call> <return|?> <key> <value|->
//
// call/return are integers from one monotonic clock (any unit); '?' is an
// unknown outcome (a write that may or may not have taken effect; reads of
// unknown outcome carry no value and must be left out); '-' is the absent
// value, the state of a key before its first write. Keys and values contain
// no whitespace. Operations known to have failed must be left out too.
//
// Exit: 0 linearizable, 1 not linearizable, 2 bad input or usage,
// 3 inconclusive (the search budget ran out on some key).
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "raft/sim/linearizability.hpp"

namespace {

using cairn::raft::sim::HistoryOp;
constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max();

bool parseTime(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  out = std::stoll(s);
  return true;
}

// Parses the whole stream; on error returns false with `error` naming the line.
bool parseHistory(std::istream& in, std::vector<HistoryOp>& ops, std::string& error) {
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty()) continue;
    auto bad = [&](const std::string& why) {
      error = "line " + std::to_string(n);
      error.append(": ").append(why).append(": \"").append(line).append("\"");
      return false;
    };
    if (f.size() != 5) return bad("want 5 fields: <w|r> <call> <return|?> <key> <value|->");
    if (f[0] != "w" && f[0] != "r") return bad("kind must be w or r");
    HistoryOp op;
    op.isWrite = f[0] == "w";
    if (!parseTime(f[1], op.call)) return bad("call time is not a non-negative integer");
    if (f[2] == "?") {
      if (!op.isWrite) return bad("a read of unknown outcome has no value: leave it out");
      op.ret = kUnknown;
    } else if (!parseTime(f[2], op.ret) || op.ret < op.call) {
      return bad("return time is not an integer >= the call time, nor ?");
    }
    op.key = f[3];
    op.value = f[4] == "-" ? "" : f[4];
    ops.push_back(std::move(op));
  }
  return true;
}

void printKey(const std::vector<HistoryOp>& ops, const std::string& key) {
  std::vector<const HistoryOp*> k;
  for (const auto& op : ops)
    if (op.key == key) k.push_back(&op);
  std::sort(k.begin(), k.end(), [](auto* a, auto* b) { return a->call < b->call; });
  std::cerr << "operations on key " << key << " (by call time):\n";
  for (const auto* op : k) {
    std::cerr << "  " << (op->isWrite ? "w " : "r ") << op->call << " "
              << (op->ret == kUnknown ? std::string("?") : std::to_string(op->ret)) << " "
              << (op->value.empty() ? "-" : op->value) << "\n";
  }
}

int usage() {
  std::cerr << "usage: cairn_lincheck [--budget STEPS] [--expect-violation] HISTORY_FILE|-\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t budget = 2'000'000;
  bool expectViolation = false;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--budget" && i + 1 < argc) {
      int64_t b = 0;
      if (!parseTime(argv[++i], b) || b == 0) return usage();
      budget = static_cast<uint64_t>(b);
    } else if (a == "--expect-violation") {
      expectViolation = true;
    } else if (path.empty() && (a == "-" || a[0] != '-')) {
      path = a;
    } else {
      return usage();
    }
  }
  if (path.empty()) return usage();
  std::vector<HistoryOp> ops;
  std::string error;
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) {
      std::cerr << "cairn_lincheck: cannot open " << path << "\n";
      return 2;
    }
  }
  if (!parseHistory(path == "-" ? std::cin : file, ops, error)) {
    std::cerr << "cairn_lincheck: " << path << ": " << error << "\n";
    return 2;
  }
  std::set<std::string> keys;
  size_t unknown = 0;
  for (const auto& op : ops) {
    keys.insert(op.key);
    unknown += op.ret == kUnknown;
  }
  auto r = cairn::raft::sim::checkLinearizable(ops, budget);
  std::cout << "cairn_lincheck: " << ops.size() << " operations (" << unknown
            << " of unknown outcome) on " << keys.size() << " keys: ";
  int code = 0;
  if (!r.ok) {
    std::cout << "NOT linearizable: no order of the operations on key " << r.badKey
              << " explains what the reads returned\n";
    printKey(ops, r.badKey);
    code = 1;
  } else if (r.gaveUp) {
    std::cout << "inconclusive: the search budget (" << budget
              << " steps per key) ran out; raise --budget or record fewer operations per key\n";
    code = 3;
  } else {
    std::cout << "linearizable\n";
  }
  if (expectViolation) {
    std::cout << "cairn_lincheck: a violation was "
              << (code == 1 ? "expected and found\n" : "expected but not found\n");
    return code == 1 ? 0 : 1;
  }
  return code;
}
