#include "raft/progress.hpp"

#include <algorithm>

namespace cairn::raft {

void Progress::becomeProbe() {
  // Resume probing just after the snapshot, if one was being sent.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pendingSnapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  probeSent = false;
  pendingSnapshot = 0;
  snapshot.reset();
  snapOffset = 0;
  inflights.reset();
}

void Progress::becomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probeSent = false;
  pendingSnapshot = 0;
  snapshot.reset();
  inflights.reset();
}

void Progress::becomeSnapshot(std::shared_ptr<const Snapshot> snap) {
  state = ProgressState::kSnapshot;
  pendingSnapshot = snap->meta.index;
  snapshot = std::move(snap);
  snapOffset = 0;
  snapOffsetAtBeat = UINT64_MAX;
  snapResend = false;
  probeSent = false;
  inflights.reset();
}

bool Progress::maybeUpdate(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probeSent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybeDecrTo(uint64_t rejected, uint64_t matchHint) {
  if (state == ProgressState::kReplicate) {
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  if (next - 1 != rejected) return false;
  next = std::max<uint64_t>(std::min(rejected, matchHint + 1), 1);
  probeSent = false;
  return true;
}

bool Progress::isPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probeSent;
    case ProgressState::kReplicate:
      return inflights.full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

void ProgressTracker::reset(const ConfState& conf, uint64_t nextIndex, NodeId self,
                            uint64_t selfMatch) {
  conf_ = conf;
  prs_.clear();
  auto add = [&](NodeId id, bool learner) {
    Progress p(maxInflight_);
    p.next = nextIndex;
    p.isLearner = learner;
    if (id == self) p.match = selfMatch;
    prs_.emplace(id, std::move(p));
  };
  for (NodeId v : conf.voters) add(v, false);
  for (NodeId l : conf.learners) add(l, true);
}

Progress* ProgressTracker::get(NodeId id) {
  auto it = prs_.find(id);
  return it == prs_.end() ? nullptr : &it->second;
}

const Progress* ProgressTracker::get(NodeId id) const {
  auto it = prs_.find(id);
  return it == prs_.end() ? nullptr : &it->second;
}

bool ProgressTracker::isVoter(NodeId id) const {
  return std::find(conf_.voters.begin(), conf_.voters.end(), id) != conf_.voters.end();
}

bool ProgressTracker::isLearner(NodeId id) const {
  return std::find(conf_.learners.begin(), conf_.learners.end(), id) != conf_.learners.end();
}

uint64_t ProgressTracker::committedIndex() const {
  if (conf_.voters.empty()) return 0;
  std::vector<uint64_t> m;
  for (NodeId v : conf_.voters) {
    const auto* p = get(v);
    m.push_back(p ? p->match : 0);
  }
  std::sort(m.begin(), m.end(), std::greater<>());
  return m[quorum() - 1];
}

bool ProgressTracker::quorumActive(NodeId self) const {
  size_t active = 0;
  for (NodeId v : conf_.voters) {
    const auto* p = get(v);
    if (v == self || (p && p->recentActive)) ++active;
  }
  return active >= quorum();
}

void ProgressTracker::applyConfChange(const ConfChange& cc, uint64_t lastIndex) {
  auto erase = [](std::vector<NodeId>& v, NodeId id) {
    v.erase(std::remove(v.begin(), v.end(), id), v.end());
  };
  auto ensure = [&](NodeId id, bool learner) {
    auto it = prs_.find(id);
    if (it == prs_.end()) {
      Progress p(maxInflight_);
      p.next = lastIndex + 1;
      p.recentActive = true;  // give a new member an election timeout before counting it inactive
      it = prs_.emplace(id, std::move(p)).first;
    }
    it->second.isLearner = learner;
  };
  switch (cc.type) {
    case ConfChangeType::kAddVoter:
      erase(conf_.learners, cc.node);
      if (!isVoter(cc.node)) conf_.voters.push_back(cc.node);
      ensure(cc.node, false);
      break;
    case ConfChangeType::kAddLearner:
      if (isVoter(cc.node)) break;  // demotion is not supported: a no-op
      if (!isLearner(cc.node)) conf_.learners.push_back(cc.node);
      ensure(cc.node, true);
      break;
    case ConfChangeType::kRemoveNode:
      erase(conf_.voters, cc.node);
      erase(conf_.learners, cc.node);
      prs_.erase(cc.node);
      break;
  }
  std::sort(conf_.voters.begin(), conf_.voters.end());
  std::sort(conf_.learners.begin(), conf_.learners.end());
}

VoteResult tallyVotes(const ConfState& conf, const std::map<NodeId, bool>& votes) {
  size_t granted = 0, rejected = 0;
  for (NodeId v : conf.voters) {
    auto it = votes.find(v);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected)++;
  }
  size_t q = conf.voters.size() / 2 + 1;
  if (granted >= q) return VoteResult::kWon;
  if (rejected > conf.voters.size() - q) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace cairn::raft
