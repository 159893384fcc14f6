// Raft core configuration, validated up front.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "raft/types.hpp"

namespace cairn::raft {

// Deliberately broken behaviours, for the simulator's "can the checker
// fail?" test only. Every one must be caught. Never set outside tests.
struct PlantedBugs {
  bool voteNotPersisted = false;           // grant a vote that never reaches disk
  bool commitOldTermByCounting = false;    // break the Figure 8 rule (thesis 3.6.2)
  bool followerCommitPastMatch = false;    // follower commit beyond what the leader matched
  bool readIndexBeforeTermCommit = false;  // serve ReadIndex before the term's first commit
  bool skipTruncateOnConflict = false;     // keep a conflicting suffix on append
  bool any() const {
    return voteNotPersisted || commitOldTermByCounting || followerCommitPastMatch ||
           readIndexBeforeTermCommit || skipTruncateOnConflict;
  }
};

struct Config {
  NodeId id = kNone;
  // Voters of a brand-new cluster; ignored when storage already holds a
  // configuration (after a snapshot) or a hard state.
  std::vector<NodeId> peers;
  // Index the state machine has already applied (restart after a snapshot
  // newer than the log's start); 0 means "the log's first index - 1".
  uint64_t applied = 0;
  int electionTick = 10;  // ticks without a leader before campaigning (randomized x1..x2)
  int heartbeatTick = 1;  // ticks between leader heartbeats; < electionTick
  uint64_t maxSizePerMsg = 1 << 20;  // bytes of entries per MsgApp
  uint64_t maxCommittedSizePerReady = 8 << 20;
  size_t maxInflightMsgs = 64;            // pipelined MsgApps per follower
  uint64_t snapshotChunkBytes = 1 << 20;  // bytes per InstallSnapshot chunk
  // Where an incoming snapshot's chunks go (null: in memory).
  std::function<std::unique_ptr<SnapshotSink>()> snapshotSink;
  bool checkQuorum = true;  // thesis 6.2: step down without a quorum
  bool preVote = true;      // thesis 9.6
  uint64_t seed = 1;        // randomized election timeouts
  PlantedBugs bugs;

  // Names the first bad field.
  Status validate() const;
};

}  // namespace cairn::raft
