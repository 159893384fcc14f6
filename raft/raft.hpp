// Raft: the consensus state machine (etcd-io/raft raft.go). Messages and
// ticks go in; messages, log changes and read states accumulate for the
// RawNode to hand out as a Ready. Pure: no I/O, clock or threads.
//
// Not thread-safe: one driver thread (or strand) owns it.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "raft/config.hpp"
#include "raft/log.hpp"
#include "raft/progress.hpp"
#include "raft/storage.hpp"

namespace cairn::raft {

class Raft {
 public:
  static Result<std::unique_ptr<Raft>> create(const Config& cfg, const Storage& storage);

  // Processes one message (remote, or local: kHup, kBeat, kProp, ...).
  // Returns an error only for a proposal or request that was dropped.
  Status step(Message m);
  // Advances logical time by one tick.
  void tick();
  // Applies a committed membership change (call while applying it).
  ConfState applyConfChange(const ConfChange& cc);

  NodeId id() const { return id_; }
  NodeId lead() const { return lead_; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  NodeId vote() const { return vote_; }
  HardState hardState() const;
  SoftState softState() const { return {lead_, role_}; }
  const ConfState& conf() const { return tracker_.conf(); }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  bool promotable() const;
  // On a leader: a membership change is appended but not yet applied, so
  // another would be refused (one change at a time, thesis 4.1).
  bool confChangePending() const { return pendingConfIndex_ > log_.applied(); }
  // Whether the leader has committed an entry of its own term yet.
  bool committedEntryInCurrentTerm() const;

  std::vector<Message> takeMessages() { return std::exchange(msgs_, {}); }
  std::vector<ReadState> takeReadStates() { return std::exchange(readStates_, {}); }
  bool hasMessages() const { return !msgs_.empty(); }
  bool hasReadStates() const { return !readStates_.empty(); }

 private:
  Raft(const Config& cfg, const Storage& storage);

  // Transitions (thesis 3.4).
  void reset(uint64_t term);
  void becomeFollower(uint64_t term, NodeId lead);
  void becomePreCandidate();
  void becomeCandidate();
  void becomeLeader();
  void campaign(bool pre, bool transfer);
  bool hasUnappliedConfChanges() const;

  Status stepLeader(Message& m);
  Status stepCandidate(Message& m);
  Status stepFollower(Message& m);
  void handleVoteRequest(const Message& m);

  // Replication (raft_replication.cpp).
  void send(Message m);
  bool maybeSendAppend(NodeId to, bool sendIfEmpty);
  void sendAppend(NodeId to) { maybeSendAppend(to, true); }
  void sendSnapshotChunk(NodeId to, Progress& pr);
  void bcastAppend();
  void bcastHeartbeat(const std::string& context);
  void appendEntries(std::vector<Entry> ents);
  bool maybeCommit();
  void handleAppendEntries(const Message& m);
  void handleHeartbeat(const Message& m);
  void handleSnapshotChunk(const Message& m);
  bool restore(Snapshot snap);
  void handleAppendResponse(const Message& m, Progress& pr);
  void handleHeartbeatResponse(const Message& m, Progress& pr);
  void handleSnapshotResponse(const Message& m, Progress& pr);

  // Reads (raft_read.cpp, thesis 6.4).
  void handleReadIndex(const Message& m);
  void respondToRead(const Message& req, uint64_t index);
  void releasePendingReads();

  void abortLeaderTransfer() { leadTransferee_ = kNone; }
  void resetRandomizedElectionTimeout();

  Config cfg_;
  NodeId id_;
  uint64_t term_ = 0;
  NodeId vote_ = kNone;
  NodeId persistedVote_ = kNone;  // only differs under the voteNotPersisted bug
  NodeId lead_ = kNone;
  Role role_ = Role::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;
  std::map<NodeId, bool> votes_;
  std::vector<Message> msgs_;
  std::vector<ReadState> readStates_;

  int electionElapsed_ = 0;
  int heartbeatElapsed_ = 0;
  int randomizedElectionTimeout_ = 0;
  std::mt19937_64 rng_;
  NodeId leadTransferee_ = kNone;
  uint64_t pendingConfIndex_ = 0;

  // Leader: ReadIndex requests waiting for a quorum of heartbeat acks, by
  // context, in arrival order; and requests held until the term's first commit.
  struct PendingRead {
    Message req;
    uint64_t index = 0;
    std::set<NodeId> acks;
  };
  std::map<std::string, PendingRead> reads_;
  std::deque<std::string> readQueue_;
  std::vector<Message> readsBeforeCommit_;

  // Follower: the snapshot being received in chunks.
  SnapshotMeta incomingSnapMeta_;
  std::unique_ptr<SnapshotSink> incomingSnap_;
};

}  // namespace cairn::raft
