// The leader's view of each peer's log (etcd-io/raft tracker/progress.go):
// how far it matches, what to send next, and flow control.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/types.hpp"

namespace cairn::raft {

// Indexes of the last entry of each MsgApp sent and not yet acknowledged;
// a full window pauses replication to that peer (pipelining, thesis 10.2.1).
class Inflights {
 public:
  explicit Inflights(size_t capacity) : cap_(capacity) {}
  void add(uint64_t last) { q_.push_back(last); }
  void freeLE(uint64_t index) {
    while (!q_.empty() && q_.front() <= index) q_.pop_front();
  }
  bool full() const { return q_.size() >= cap_; }
  size_t count() const { return q_.size(); }
  void reset() { q_.clear(); }

 private:
  size_t cap_;
  std::deque<uint64_t> q_;
};

enum class ProgressState : uint8_t {
  kProbe,      // one MsgApp at a time until the match point is found
  kReplicate,  // pipelined MsgApps, optimistic next
  kSnapshot,   // sending a snapshot in chunks; no MsgApp
};

struct Progress {
  explicit Progress(size_t maxInflight) : inflights(maxInflight) {}

  uint64_t match = 0;
  uint64_t next = 1;
  ProgressState state = ProgressState::kProbe;
  bool probeSent = false;  // in kProbe: a MsgApp is outstanding
  bool recentActive = false;
  bool isLearner = false;
  Inflights inflights;
  // kSnapshot: the snapshot being sent and how far the peer has it.
  uint64_t pendingSnapshot = 0;
  std::shared_ptr<const Snapshot> snapshot;
  uint64_t snapOffset = 0;
  // snapOffset at the last heartbeat round, and whether the transfer made no
  // progress since the one before: then (only) the next heartbeat response
  // resends the chunk, once, in case a chunk or its answer was lost.
  uint64_t snapOffsetAtBeat = UINT64_MAX;
  bool snapResend = false;

  void becomeProbe();
  void becomeReplicate();
  void becomeSnapshot(std::shared_ptr<const Snapshot> snap);
  // The peer acknowledged entries up to n. Returns true if match moved.
  bool maybeUpdate(uint64_t n);
  // The peer rejected an append at `rejected`; `matchHint` is where it
  // suggests to probe. Returns false if the rejection is stale.
  bool maybeDecrTo(uint64_t rejected, uint64_t matchHint);
  bool isPaused() const;
};

// Progress of every member, voters and learners.
class ProgressTracker {
 public:
  explicit ProgressTracker(size_t maxInflight) : maxInflight_(maxInflight) {}

  void reset(const ConfState& conf, uint64_t nextIndex, NodeId self, uint64_t selfMatch);
  Progress* get(NodeId id);
  const Progress* get(NodeId id) const;
  std::map<NodeId, Progress>& all() { return prs_; }
  const std::map<NodeId, Progress>& all() const { return prs_; }
  const ConfState& conf() const { return conf_; }
  void setConf(const ConfState& conf) { conf_ = conf; }
  bool isVoter(NodeId id) const;
  bool isLearner(NodeId id) const;
  size_t quorum() const { return conf_.voters.size() / 2 + 1; }
  // The largest index replicated on a quorum of voters.
  uint64_t committedIndex() const;
  // True if a quorum of voters (counting self) was recently active.
  bool quorumActive(NodeId self) const;
  // Applies a membership change to the tracked set. `lastIndex` seeds new peers.
  void applyConfChange(const ConfChange& cc, uint64_t lastIndex);

 private:
  size_t maxInflight_;
  ConfState conf_;
  std::map<NodeId, Progress> prs_;
};

// Vote tally of a campaign.
enum class VoteResult : uint8_t { kPending, kWon, kLost };
VoteResult tallyVotes(const ConfState& conf, const std::map<NodeId, bool>& votes);

}  // namespace cairn::raft
