// Committed entries per second through a 3-node in-memory Raft cluster (no
// disk, no network): the cost of the core itself. Batching on: proposals
// arrive in bursts and share MsgApps and Readies; off: one proposal is
// committed everywhere before the next is made.
//
//   build/bench/raft_throughput [entries] [payload-bytes]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include "raft/rawnode.hpp"

using namespace cairn::raft;

namespace {

struct Node {
  std::unique_ptr<MemoryStorage> storage = std::make_unique<MemoryStorage>();
  std::unique_ptr<RawNode> raft;
  uint64_t applied = 0;
};

class Cluster {
 public:
  Cluster() {
    for (NodeId id : {1, 2, 3}) {
      Config c;
      c.id = id;
      c.peers = {1, 2, 3};
      c.maxInflightMsgs = 256;
      c.maxSizePerMsg = 1 << 20;
      nodes_[id].raft = std::move(RawNode::create(c, *nodes_[id].storage).value());
    }
    settle();
    nodes_[1].raft->campaign();
    settle();
  }

  // Runs Readies and delivers messages until nothing is left. Returns the
  // number of Ready batches handled.
  uint64_t settle() {
    uint64_t readies = 0;
    while (true) {
      std::vector<Message> out;
      for (auto& [id, n] : nodes_) {
        while (n.raft->hasReady()) {
          Ready rd = n.raft->ready();
          ++readies;
          if (rd.hardState) n.storage->setHardState(*rd.hardState);
          n.storage->append(rd.entries);
          for (auto& m : rd.messages) out.push_back(std::move(m));
          if (!rd.committedEntries.empty()) n.applied = rd.committedEntries.back().index;
          n.raft->advance(rd);
        }
      }
      if (out.empty()) return readies;
      for (auto& m : out) (void)nodes_[m.to].raft->step(std::move(m));
    }
  }

  RawNode& leader() { return *nodes_[1].raft; }
  uint64_t minApplied() {
    uint64_t m = UINT64_MAX;
    for (auto& [id, n] : nodes_) m = std::min(m, n.applied);
    return m;
  }
  void compact() {
    for (auto& [id, n] : nodes_) {
      uint64_t a = n.applied;
      if (a > n.storage->firstIndex() + 1000) (void)n.storage->compact(a - 100);
    }
  }

 private:
  std::map<NodeId, Node> nodes_;
};

double run(uint64_t entries, size_t payload, size_t batch) {
  Cluster c;
  std::string data(payload, 'x');
  uint64_t target = c.minApplied() + entries;
  auto start = std::chrono::steady_clock::now();
  uint64_t proposed = 0;
  while (proposed < entries) {
    for (size_t i = 0; i < batch && proposed < entries; ++i, ++proposed)
      if (!c.leader().propose(data).ok()) std::abort();
    c.settle();
    if (proposed % 10000 < batch) c.compact();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (c.minApplied() < target) std::abort();
  return static_cast<double>(entries) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t entries = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  size_t payload = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 128;
  std::printf("3-node in-memory cluster, %llu entries of %zu bytes\n",
              static_cast<unsigned long long>(entries), payload);
  for (size_t batch : {1, 16, 256}) {
    double best = 0;
    for (int i = 0; i < 3; ++i) best = std::max(best, run(entries, payload, batch));
    std::printf("batch=%-4zu committed entries/s (best of 3): %.0f\n", batch, best);
  }
  return 0;
}
