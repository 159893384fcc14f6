// Linearizable reads without log writes: ReadIndex (thesis 6.4).
#include "raft/raft.hpp"

namespace cairn::raft {

bool Raft::committedEntryInCurrentTerm() const {
  return log_.term(log_.committed()) == term_;
}

void Raft::respondToRead(const Message& req, uint64_t index) {
  if (req.from == kNone || req.from == id_) {
    readStates_.push_back({index, req.context});
    return;
  }
  Message r;
  r.type = MsgType::kReadIndexResp;
  r.to = req.from;
  r.index = index;
  r.context = req.context;
  send(std::move(r));
}

void Raft::handleReadIndex(const Message& m) {
  // A new leader does not know the commit index of the previous term until
  // an entry of its own term commits (thesis 6.4 step 1): hold the read.
  if (!committedEntryInCurrentTerm() && !cfg_.bugs.readIndexBeforeTermCommit) {
    readsBeforeCommit_.push_back(m);
    return;
  }
  uint64_t index = log_.committed();
  if (tracker_.conf().voters.size() == 1 && tracker_.isVoter(id_)) {
    respondToRead(m, index);
    return;
  }
  if (m.context.empty() || reads_.count(m.context)) return;  // contexts must be unique
  PendingRead p{m, index, {id_}};
  reads_.emplace(m.context, std::move(p));
  readQueue_.push_back(m.context);
  // Confirm leadership with a round of heartbeats carrying the context.
  bcastHeartbeat(m.context);
}

void Raft::releasePendingReads() {
  if (readsBeforeCommit_.empty() || !committedEntryInCurrentTerm()) return;
  auto held = std::exchange(readsBeforeCommit_, {});
  for (auto& m : held) handleReadIndex(m);
}

}  // namespace cairn::raft
