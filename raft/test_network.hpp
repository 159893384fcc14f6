// A synchronous in-process cluster for the core's unit tests: every node
// follows the Ready contract (persist, then send, then apply, then advance),
// and messages are delivered until none are left (etcd's raft_test.go style).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/rawnode.hpp"

namespace cairn::raft::testing {

struct TestNode {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  std::vector<Entry> applied;
  std::vector<ReadState> reads;
};

class TestNetwork {
 public:
  explicit TestNetwork(std::vector<NodeId> ids, std::function<void(Config&)> tweak = {}) {
    for (NodeId id : ids) add(id, ids, tweak);
    settle();  // persist and apply the bootstrap configuration entries
  }

  void add(NodeId id, std::vector<NodeId> peers, const std::function<void(Config&)>& tweak = {}) {
    Config cfg;
    cfg.id = id;
    cfg.peers = std::move(peers);
    cfg.seed = 7;
    if (tweak) tweak(cfg);
    auto& n = nodes[id];
    n.storage = std::make_unique<MemoryStorage>();
    n.node = std::move(RawNode::create(cfg, *n.storage).value());
  }

  RawNode& operator[](NodeId id) { return *nodes.at(id).node; }

  // Processes Readies and delivers messages until the cluster is quiet.
  void settle(int maxRounds = 1000) {
    for (int round = 0; round < maxRounds; ++round) {
      std::vector<Message> out;
      for (auto& [id, n] : nodes) {
        while (n.node->hasReady()) {
          Ready rd = n.node->ready();
          if (rd.hardState) n.storage->setHardState(*rd.hardState);
          if (!rd.snapshot.empty()) (void)n.storage->applySnapshot(rd.snapshot);
          n.storage->append(rd.entries);
          for (auto& m : rd.messages) out.push_back(std::move(m));
          for (const auto& e : rd.committedEntries) {
            n.applied.push_back(e);
            if (e.type == EntryType::kConfChange)
              n.node->applyConfChange(*ConfChange::decode(e.data));
          }
          for (auto& r : rd.readStates) n.reads.push_back(r);
          n.node->advance(rd);
        }
      }
      if (out.empty()) return;
      for (auto& m : out) {
        if (cut.count({m.from, m.to}) || cut.count({m.to, m.from}) || !nodes.count(m.to)) continue;
        if (dropType && m.type == *dropType) continue;
        (void)nodes[m.to].node->step(std::move(m));
      }
    }
  }

  void tickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, nd] : nodes) nd.node->tick();
      settle();
    }
  }

  // Isolates `id` from everyone (both directions).
  void isolate(NodeId id) {
    for (auto& [other, n] : nodes)
      if (other != id) cut.insert({id, other});
  }
  void heal() { cut.clear(); }

  NodeId leader() {
    for (auto& [id, n] : nodes)
      if (n.node->softState().role == Role::kLeader) return id;
    return kNone;
  }

  std::map<NodeId, TestNode> nodes;
  std::set<std::pair<NodeId, NodeId>> cut;
  std::optional<MsgType> dropType;
};

}  // namespace cairn::raft::testing
