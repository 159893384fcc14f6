// RaftReplicator: forwarding proposals to the leader over links that may
// break. A follower's proposal travels to the leader as a MsgProp on this
// server's outbound connection to it; the answer is the entry coming back,
// committed. When that connection is lost, what was sent on it may or may
// not have reached the leader, so its proposals fail at once with an
// "outcome unknown" error (never re-sent: a write is not idempotent), its
// unconfirmed ReadIndex requests are asked again, and new proposals and
// reads wait until a leader is reachable again.
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
    for (auto it = readsInFlight_.begin(); it != readsInFlight_.end();) {
      if (it->second.index == 0 && it->second.forwardedTo == address) {
        readsWithoutLeader_.push_front(std::move(it->second));
        it = readsInFlight_.erase(it);
      } else {
        ++it;
      }
    }
  }
  return lost;
}

void RaftReplicator::failLostForwards(const std::vector<std::string>& ids) {
  size_t failed = 0;
  std::string address;
  for (const auto& id : ids) {
    auto it = pending_.find(id);
    if (it == pending_.end()) continue;  // applied meanwhile, or already failed
    address = it->second.forwardedTo;
    it->second.done(unavailable("the connection to the leader at " + address +
                                " was lost before the write was acknowledged; its outcome is "
                                "unknown: the leader may have committed it"));
    pending_.erase(it);
    ++failed;
  }
  if (failed > 0)
    log::get("raft")->warn(
        "lost the connection to the leader address={}; failed {} forwarded writes whose "
        "outcome is unknown",
        address, failed);
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
