// RaftReplicator: forwarding proposals to the leader over links that may
// break. A follower's proposal travels to the leader as a MsgProp on this
// server's outbound connection to it; the answer is the entry coming back,
// committed. When that connection is lost, what was sent on it may or may
// not have reached the leader, so its proposals fail at once with an
// "outcome unknown" error (never re-sent: a write is not idempotent), its
// unconfirmed ReadIndex requests are asked again, and new proposals and
// reads wait until a leader is reachable again.
//
// A leader can also go silent with its connections open (a stopped
// process, a partition that drops packets): nothing is lost at the socket
// level, and the answers simply never come. Raft is what notices: this
// server's election timeout passes (no leader), or it hears of a new leader
// or term. The requests sent under the old leader and term are then failed
// or asked again the same way (leader_change.hpp), within an election
// timeout or two of the silence instead of after proposalTimeout.
#include "common/log.hpp"
#include "server/raft_replicator.hpp"

namespace cairn::server {

void RaftReplicator::onLink(const std::string& address, bool up) {
  std::lock_guard lock(mu_);
  linkChanges_.emplace_back(address, up);
  cv_.notify_one();
}

std::vector<std::string> RaftReplicator::takeLinkChanges(
    std::deque<std::pair<std::string, bool>> changes) {
  std::vector<std::string> lost;
  for (auto& [address, up] : changes) {
    if (up) {
      linksUp_.insert(address);
      continue;
    }
    linksUp_.erase(address);
    for (const auto& [id, p] : pending_)
      if (p.forwardedTo == address) lost.push_back(id);
    // A late answer to the old request finds nothing and is ignored.
    askReadsAgain([&](const ReadWait& r) { return r.forwardedTo == address; });
  }
  return lost;
}

size_t RaftReplicator::failPending(const std::vector<std::string>& ids,
                                   const std::function<std::string(const Proposal&)>& why,
                                   std::string* address) {
  size_t failed = 0;
  for (const auto& id : ids) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // applied meanwhile, or already failed
    *address = it->second.forwardedTo;
    it->second.done(unavailable(why(it->second)));
    pending_.erase(it);
    ++failed;
  }
  return failed;
}

void RaftReplicator::failLostForwards(const std::vector<std::string>& ids) {
  std::string address;
  size_t failed = failPending(
      ids,
      [](const Proposal& p) {
        return "the connection to the leader at " + p.forwardedTo +
               " was lost before the write was acknowledged; its outcome is "
               "unknown: the leader may have committed it";
      },
      &address);
  if (failed > 0)
    log::get("raft")->warn(
        "lost the connection to the leader address={}; failed {} forwarded writes whose "
        "outcome is unknown",
        address, failed);
}

void RaftReplicator::askReadsAgain(const std::function<bool(const ReadWait&)>& lost) {
  for (auto it = readsInFlight_.begin(); it != readsInFlight_.end();) {
    if (it->second.index == 0 && lost(it->second)) {
      readsWithoutLeader_.push_front(std::move(it->second));
      it = readsInFlight_.erase(it);
    } else {
      ++it;
    }
  }
}

LeaderTerm RaftReplicator::leaderTerm() const {
  return {node_->softState().lead, node_->raft().term()};
}

std::vector<std::string> RaftReplicator::takeLeaderChange() {
  LeaderTerm now = leaderTerm();
  if (now == seen_) return {};
  seen_ = now;
  std::vector<std::string> moved;
  for (const auto& [id, p] : pending_)
    if (leaderMoved(p.sentUnder, now)) moved.push_back(id);
  // A read the old leader confirmed (index set) is served once applied;
  // one it did not is asked again, and a late answer finds nothing.
  askReadsAgain([&](const ReadWait& r) { return leaderMoved(r.sentUnder, now); });
  return moved;
}

void RaftReplicator::failMovedForwards(const std::vector<std::string>& ids) {
  std::string address;
  size_t failed = failPending(
      ids,
      [this](const Proposal& p) {
        return movedWriteMessage(p.sentUnder, seen_, cfg_.raftId, p.forwardedTo);
      },
      &address);
  if (failed > 0)
    log::get("raft")->warn(
        "the leader changed or went silent old_leader={} leader={} term={}; failed {} writes "
        "whose outcome is unknown",
        address.empty() ? "self" : address,
        seen_.lead == raft::kNone ? "none" : formatServerId(seen_.lead), seen_.term, failed);
}

std::optional<std::string> RaftReplicator::proposalTarget() {
  if (!node_) return std::nullopt;
  raft::NodeId lead = node_->softState().lead;
  if (lead == raft::kNone) return std::nullopt;
  if (lead == cfg_.raftId) return std::string();
  std::string address;
  {
    std::lock_guard lock(mu_);
    if (auto it = peers_.find(lead); it != peers_.end()) address = it->second.address;
  }
  // A MsgProp sent now would wait in the queue of a broken connection (or
  // go nowhere): keep the proposal until the leader can be reached.
  if (address.empty() || !linksUp_.count(address)) return std::nullopt;
  return address;
}

}  // namespace cairn::server
