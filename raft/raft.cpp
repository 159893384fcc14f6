#include "raft/raft.hpp"

#include <algorithm>

namespace cairn::raft {

Result<std::unique_ptr<Raft>> Raft::create(const Config& cfg, const Storage& storage) {
  Status st = cfg.validate();
  if (!st.ok()) return st.error();
  return std::unique_ptr<Raft>(new Raft(cfg, storage));
}

Raft::Raft(const Config& cfg, const Storage& storage)
    : cfg_(cfg),
      id_(cfg.id),
      log_(storage, cfg.maxCommittedSizePerReady),
      tracker_(cfg.maxInflightMsgs),
      rng_(cfg.seed ^ (cfg.id * 0x9E3779B97F4A7C15ull)) {
  auto init = storage.initialState();
  tracker_.setConf(init.conf);
  if (!init.hard.empty()) {
    term_ = init.hard.term;
    vote_ = persistedVote_ = init.hard.vote;
    log_.commitTo(std::min(init.hard.commit, log_.lastIndex()));
  } else if (storage.lastIndex() == 0 && init.conf.voters.empty() && !cfg.peers.empty()) {
    // A brand-new cluster: the initial configuration goes into the log as
    // committed entries 1..n, identical on every founding member, so that
    // servers added later learn it by replication like any other change.
    std::vector<NodeId> peers = cfg.peers;
    std::sort(peers.begin(), peers.end());
    std::vector<Entry> ents;
    for (size_t i = 0; i < peers.size(); ++i)
      ents.push_back(Entry{1, i + 1, EntryType::kConfChange,
                           ConfChange{ConfChangeType::kAddVoter, peers[i]}.encode()});
    log_.append(ents);
    log_.commitTo(ents.size());
    term_ = 1;
    tracker_.setConf(ConfState{peers, {}});
  }
  if (cfg.applied > log_.applied()) {
    CAIRN_CHECK(cfg.applied <= log_.committed(), "applied index beyond the commit index");
    log_.appliedTo(cfg.applied);
  }
  becomeFollower(term_, kNone);
}

HardState Raft::hardState() const {
  return {term_, cfg_.bugs.voteNotPersisted ? persistedVote_ : vote_, log_.committed()};
}

bool Raft::promotable() const {
  return tracker_.isVoter(id_) && !log_.unstableSnapshot();
}

void Raft::resetRandomizedElectionTimeout() {
  std::uniform_int_distribution<int> d(cfg_.electionTick, 2 * cfg_.electionTick - 1);
  randomizedElectionTimeout_ = d(rng_);
}

void Raft::reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
    persistedVote_ = kNone;
  }
  lead_ = kNone;
  electionElapsed_ = 0;
  heartbeatElapsed_ = 0;
  resetRandomizedElectionTimeout();
  abortLeaderTransfer();
  votes_.clear();
  tracker_.reset(tracker_.conf(), log_.lastIndex() + 1, id_, log_.lastIndex());
  pendingConfIndex_ = 0;
  reads_.clear();
  readQueue_.clear();
  readsBeforeCommit_.clear();
}

void Raft::becomeFollower(uint64_t term, NodeId lead) {
  reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::becomePreCandidate() {
  CAIRN_CHECK(role_ != Role::kLeader, "a leader cannot become a pre-candidate");
  // Thesis 9.6: no term change and no vote until the pre-vote is won.
  votes_.clear();
  lead_ = kNone;
  role_ = Role::kPreCandidate;
}

void Raft::becomeCandidate() {
  CAIRN_CHECK(role_ != Role::kLeader, "a leader cannot become a candidate");
  reset(term_ + 1);
  vote_ = id_;
  persistedVote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::becomeLeader() {
  CAIRN_CHECK(role_ == Role::kCandidate, "only a candidate becomes leader");
  reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  if (auto* self = tracker_.get(id_)) self->becomeReplicate();
  // No membership change until everything before this term is applied and
  // an entry of this term is committed (the single-server change fix).
  pendingConfIndex_ = log_.lastIndex();
  appendEntries({Entry{}});
}

bool Raft::hasUnappliedConfChanges() const {
  if (log_.committed() <= log_.applied()) return false;
  auto ents =
      log_.slice(std::max(log_.applied() + 1, log_.firstIndex()), log_.committed() + 1, UINT64_MAX);
  if (!ents.ok()) return true;
  for (const auto& e : *ents)
    if (e.type == EntryType::kConfChange) return true;
  return false;
}

void Raft::campaign(bool pre, bool transfer) {
  uint64_t voteTerm;
  MsgType type;
  if (pre) {
    becomePreCandidate();
    voteTerm = term_ + 1;
    type = MsgType::kPreVote;
  } else {
    becomeCandidate();
    voteTerm = term_;
    type = MsgType::kVote;
  }
  votes_[id_] = true;
  if (tallyVotes(tracker_.conf(), votes_) == VoteResult::kWon) {
    if (pre) return campaign(false, transfer);
    becomeLeader();
    return;
  }
  for (NodeId v : tracker_.conf().voters) {
    if (v == id_) continue;
    Message m;
    m.type = type;
    m.to = v;
    m.term = voteTerm;
    m.index = log_.lastIndex();
    m.logTerm = log_.lastTerm();
    m.transfer = transfer;
    send(std::move(m));
  }
}

void Raft::tick() {
  if (role_ == Role::kLeader) {
    ++heartbeatElapsed_;
    ++electionElapsed_;
    if (electionElapsed_ >= cfg_.electionTick) {
      electionElapsed_ = 0;
      if (cfg_.checkQuorum) (void)step(localMessage(MsgType::kCheckQuorum));
      if (role_ == Role::kLeader && leadTransferee_ != kNone) abortLeaderTransfer();
    }
    if (role_ != Role::kLeader) return;
    if (heartbeatElapsed_ >= cfg_.heartbeatTick) {
      heartbeatElapsed_ = 0;
      (void)step(localMessage(MsgType::kBeat));
    }
    return;
  }
  ++electionElapsed_;
  if (promotable() && electionElapsed_ >= randomizedElectionTimeout_) {
    electionElapsed_ = 0;
    (void)step(localMessage(MsgType::kHup));
  }
}

Status Raft::step(Message m) {
  // Term rules (thesis 3.3, 4.2.3 leases, 9.6 pre-vote).
  if (m.term > term_) {
    if (m.type == MsgType::kVote || m.type == MsgType::kPreVote) {
      bool inLease = cfg_.checkQuorum && lead_ != kNone && electionElapsed_ < cfg_.electionTick;
      // A server that hears from a leader ignores disruptive candidates.
      if (!m.transfer && inLease) return {};
    }
    if (m.type == MsgType::kPreVote) {
      // A pre-vote never changes our term.
    } else if (m.type == MsgType::kPreVoteResp && !m.reject) {
      // Our pre-campaign won; the term moves when the real campaign starts.
    } else if (m.type == MsgType::kApp || m.type == MsgType::kHeartbeat ||
               m.type == MsgType::kSnap) {
      becomeFollower(m.term, m.from);
    } else {
      becomeFollower(m.term, kNone);
    }
  } else if (m.term != 0 && m.term < term_) {
    if ((cfg_.checkQuorum || cfg_.preVote) &&
        (m.type == MsgType::kHeartbeat || m.type == MsgType::kApp)) {
      // Tell a stale leader about the new term so it steps down.
      Message r;
      r.type = MsgType::kAppResp;
      r.to = m.from;
      send(std::move(r));
    } else if (m.type == MsgType::kPreVote) {
      Message r;
      r.type = MsgType::kPreVoteResp;
      r.to = m.from;
      r.term = term_;
      r.reject = true;
      send(std::move(r));
    }
    return {};
  }

  switch (m.type) {
    case MsgType::kHup:
      if (role_ == Role::kLeader || !promotable() || hasUnappliedConfChanges()) return {};
      campaign(cfg_.preVote, false);
      return {};
    case MsgType::kVote:
    case MsgType::kPreVote:
      handleVoteRequest(m);
      return {};
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      return stepLeader(m);
    case Role::kCandidate:
    case Role::kPreCandidate:
      return stepCandidate(m);
    case Role::kFollower:
      return stepFollower(m);
  }
  return {};
}

void Raft::handleVoteRequest(const Message& m) {
  bool pre = m.type == MsgType::kPreVote;
  bool canVote = vote_ == m.from || (vote_ == kNone && lead_ == kNone) || (pre && m.term > term_);
  Message r;
  r.type = pre ? MsgType::kPreVoteResp : MsgType::kVoteResp;
  r.to = m.from;
  if (canVote && log_.isUpToDate(m.index, m.logTerm)) {
    // Thesis 3.6.1: grant only to a candidate whose log is at least as
    // up-to-date; the vote is durable before the reply leaves (Ready).
    r.term = m.term;
    if (!pre) {
      electionElapsed_ = 0;
      vote_ = m.from;
      if (!cfg_.bugs.voteNotPersisted) persistedVote_ = m.from;
    }
  } else {
    r.term = term_;
    r.reject = true;
  }
  send(std::move(r));
}

Status Raft::stepCandidate(Message& m) {
  switch (m.type) {
    case MsgType::kProp:
      return unavailable("proposal dropped: no leader");
    case MsgType::kApp:
      becomeFollower(m.term, m.from);
      handleAppendEntries(m);
      return {};
    case MsgType::kHeartbeat:
      becomeFollower(m.term, m.from);
      handleHeartbeat(m);
      return {};
    case MsgType::kSnap:
      becomeFollower(m.term, m.from);
      handleSnapshotChunk(m);
      return {};
    case MsgType::kVoteResp:
    case MsgType::kPreVoteResp: {
      bool mine = (m.type == MsgType::kVoteResp) == (role_ == Role::kCandidate);
      if (!mine) return {};
      votes_[m.from] = !m.reject;
      switch (tallyVotes(tracker_.conf(), votes_)) {
        case VoteResult::kWon:
          if (role_ == Role::kPreCandidate) {
            campaign(false, false);
          } else {
            becomeLeader();
            bcastAppend();
          }
          break;
        case VoteResult::kLost:
          becomeFollower(term_, kNone);
          break;
        case VoteResult::kPending:
          break;
      }
      return {};
    }
    case MsgType::kReadIndex:
      return unavailable("read index dropped: no leader");
    default:
      return {};
  }
}

Status Raft::stepFollower(Message& m) {
  switch (m.type) {
    case MsgType::kProp:
      if (lead_ == kNone) return unavailable("proposal dropped: no leader");
      m.to = lead_;
      send(std::move(m));
      return {};
    case MsgType::kApp:
      electionElapsed_ = 0;
      lead_ = m.from;
      handleAppendEntries(m);
      return {};
    case MsgType::kHeartbeat:
      electionElapsed_ = 0;
      lead_ = m.from;
      handleHeartbeat(m);
      return {};
    case MsgType::kSnap:
      electionElapsed_ = 0;
      lead_ = m.from;
      handleSnapshotChunk(m);
      return {};
    case MsgType::kTransferLeader:
      if (lead_ == kNone) return unavailable("transfer dropped: no leader");
      m.to = lead_;
      send(std::move(m));
      return {};
    case MsgType::kTimeoutNow:
      // Thesis 3.10: the leader asks us to start an election at once.
      if (promotable()) campaign(false, true);
      return {};
    case MsgType::kReadIndex:
      if (lead_ == kNone) return unavailable("read index dropped: no leader");
      m.to = lead_;
      send(std::move(m));
      return {};
    case MsgType::kReadIndexResp:
      readStates_.push_back({m.index, m.context});
      return {};
    default:
      return {};
  }
}

Status Raft::stepLeader(Message& m) {
  switch (m.type) {
    case MsgType::kBeat:
      bcastHeartbeat({});
      return {};
    case MsgType::kCheckQuorum:
      // Thesis 6.2: a leader that has not heard from a quorum in an election
      // timeout steps down, so clients can find the real leader.
      if (!tracker_.quorumActive(id_)) {
        becomeFollower(term_, kNone);
        return {};
      }
      for (auto& [id, pr] : tracker_.all())
        if (id != id_) pr.recentActive = false;
      return {};
    case MsgType::kProp: {
      CAIRN_CHECK(!m.entries.empty(), "empty proposal");
      if (!tracker_.isVoter(id_)) return unavailable("proposal dropped: leader removed");
      if (leadTransferee_ != kNone) return unavailable("proposal dropped: leadership transfer");
      for (size_t i = 0; i < m.entries.size(); ++i) {
        if (m.entries[i].type != EntryType::kConfChange) continue;
        if (pendingConfIndex_ > log_.applied())
          return unavailable("proposal dropped: a membership change is pending");
        pendingConfIndex_ = log_.lastIndex() + i + 1;
      }
      appendEntries(std::move(m.entries));
      bcastAppend();
      return {};
    }
    case MsgType::kReadIndex:
      handleReadIndex(m);
      return {};
    case MsgType::kTransferLeader: {
      NodeId to = m.from;
      const Progress* pr = tracker_.get(to);
      if (!pr || pr->isLearner || to == id_) return {};
      if (leadTransferee_ == to) return {};
      abortLeaderTransfer();
      electionElapsed_ = 0;
      leadTransferee_ = to;
      if (pr->match == log_.lastIndex()) {
        Message t;
        t.type = MsgType::kTimeoutNow;
        t.to = to;
        send(std::move(t));
      } else {
        sendAppend(to);
      }
      return {};
    }
    default:
      break;
  }
  Progress* pr = tracker_.get(m.from);
  if (!pr) return {};
  switch (m.type) {
    case MsgType::kAppResp:
      handleAppendResponse(m, *pr);
      break;
    case MsgType::kHeartbeatResp:
      handleHeartbeatResponse(m, *pr);
      break;
    case MsgType::kSnapResp:
      handleSnapshotResponse(m, *pr);
      break;
    default:
      break;
  }
  return {};
}

ConfState Raft::applyConfChange(const ConfChange& cc) {
  tracker_.applyConfChange(cc, log_.lastIndex());
  if (role_ == Role::kLeader) {
    if (!tracker_.isVoter(id_)) {
      // Thesis 4.2.2: a leader removed from the configuration steps down
      // once the change is committed.
      becomeFollower(term_, kNone);
    } else {
      if (cc.node == leadTransferee_ && cc.type == ConfChangeType::kRemoveNode)
        abortLeaderTransfer();
      if (maybeCommit()) bcastAppend();
      if (auto* pr = tracker_.get(cc.node); pr && cc.node != id_) sendAppend(cc.node);
    }
  }
  return tracker_.conf();
}

}  // namespace cairn::raft
