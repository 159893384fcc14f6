// Log replication (thesis 3.5, 10.2): AppendEntries with pipelining and
// fast back-tracking, heartbeats, commitment, and chunked InstallSnapshot.
#include <algorithm>

#include "raft/raft.hpp"

namespace cairn::raft {

void Raft::send(Message m) {
  // A transfer request forwarded to the leader names the transferee in
  // `from` (etcd-io/raft does the same); everything else is from us.
  if (m.type != MsgType::kTransferLeader || m.from == kNone) m.from = id_;
  bool vote = m.type == MsgType::kVote || m.type == MsgType::kVoteResp ||
              m.type == MsgType::kPreVote || m.type == MsgType::kPreVoteResp;
  if (vote) {
    CAIRN_CHECK(m.term != 0, "vote messages carry their term");
  } else if (m.type != MsgType::kProp && m.type != MsgType::kReadIndex &&
             m.type != MsgType::kTransferLeader) {
    // Proposals and reads forwarded to the leader travel as local messages.
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

bool Raft::maybeSendAppend(NodeId to, bool sendIfEmpty) {
  Progress* pr = tracker_.get(to);
  if (!pr || pr->isPaused()) return false;
  uint64_t prevIndex = pr->next - 1;
  bool compacted = prevIndex + 1 < log_.firstIndex();
  Result<std::vector<Entry>> ents = std::vector<Entry>{};
  if (!compacted) ents = log_.entriesFrom(pr->next, cfg_.maxSizePerMsg);
  if (compacted || !ents.ok()) {
    // The entries the peer needs are gone: send a snapshot (thesis 5.3).
    if (!pr->recentActive) return false;
    auto snap = log_.snapshot();
    if (!snap.ok() || snap->empty()) return false;
    pr->becomeSnapshot(std::make_shared<const Snapshot>(std::move(*snap)));
    sendSnapshotChunk(to, *pr);
    return true;
  }
  if (ents->empty() && !sendIfEmpty) return false;
  Message m;
  m.type = MsgType::kApp;
  m.to = to;
  m.index = prevIndex;
  m.logTerm = log_.term(prevIndex);
  m.commit = log_.committed();
  m.entries = std::move(*ents);
  if (pr->state == ProgressState::kReplicate && !m.entries.empty()) {
    uint64_t last = m.entries.back().index;
    pr->next = last + 1;  // optimistic: pipeline the next batch at once
    pr->inflights.add(last);
  } else if (pr->state == ProgressState::kProbe) {
    pr->probeSent = true;
  }
  send(std::move(m));
  return true;
}

void Raft::sendSnapshotChunk(NodeId to, Progress& pr) {
  const Snapshot& s = *pr.snapshot;
  uint64_t total = s.size();
  uint64_t off = std::min<uint64_t>(pr.snapOffset, total);
  uint64_t n = std::min<uint64_t>(cfg_.snapshotChunkBytes, total - off);
  std::string chunk;
  if (n > 0) {
    auto r = s.data->read(off, n);
    if (!r.ok() || r->size() != n) {
      // The snapshot's bytes are gone (e.g. replaced by a newer one): start
      // over with the current snapshot at the next opportunity.
      pr.becomeProbe();
      return;
    }
    chunk = std::move(r).value();
  }
  Message m;
  m.type = MsgType::kSnap;
  m.to = to;
  m.snapMeta = s.meta;
  m.index = s.meta.index;
  m.snapOffset = off;
  m.snapSize = total;
  m.snapChunk = std::move(chunk);
  send(std::move(m));
}

void Raft::bcastAppend() {
  for (auto& [id, pr] : tracker_.all())
    if (id != id_) sendAppend(id);
}

void Raft::bcastHeartbeat(const std::string& context) {
  for (auto& [id, pr] : tracker_.all()) {
    if (id == id_) continue;
    if (context.empty() && pr.state == ProgressState::kSnapshot) {  // a heartbeat round
      pr.snapResend = pr.snapOffset == pr.snapOffsetAtBeat;
      pr.snapOffsetAtBeat = pr.snapOffset;
    }
    Message m;
    m.type = MsgType::kHeartbeat;
    m.to = id;
    // Never tell a follower to commit beyond what it is known to hold: its
    // log past `match` may still hold another leader's uncommitted entries.
    m.commit =
        cfg_.bugs.followerCommitPastMatch ? log_.committed() : std::min(pr.match, log_.committed());
    m.context = context;
    send(std::move(m));
  }
}

void Raft::appendEntries(std::vector<Entry> ents) {
  uint64_t li = log_.lastIndex();
  for (size_t i = 0; i < ents.size(); ++i) {
    ents[i].term = term_;
    ents[i].index = li + 1 + i;
  }
  li = log_.append(ents);
  if (auto* self = tracker_.get(id_)) self->maybeUpdate(li);
  maybeCommit();
}

bool Raft::maybeCommit() {
  // Figure 8 / thesis 3.6.2: only an entry of the current term is committed
  // by counting replicas; earlier ones commit with it.
  bool committed =
      log_.maybeCommit(tracker_.committedIndex(), term_, cfg_.bugs.commitOldTermByCounting);
  if (committed) releasePendingReads();
  return committed;
}

void Raft::handleAppendEntries(const Message& m) {
  Message r;
  r.type = MsgType::kAppResp;
  r.to = m.from;
  if (m.index < log_.committed()) {
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  std::optional<uint64_t> last;
  if (cfg_.bugs.skipTruncateOnConflict && log_.matchTerm(m.index, m.logTerm)) {
    std::vector<Entry> fresh;
    for (const auto& e : m.entries)
      if (e.index > log_.lastIndex()) fresh.push_back(e);
    log_.append(fresh);
    last = m.index + m.entries.size();
    log_.commitTo(std::min({m.commit, *last, log_.lastIndex()}));
  } else {
    last = log_.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  }
  if (last) {
    r.index = *last;
    send(std::move(r));
    return;
  }
  // Fast back-tracking: point the leader at the last index whose term is at
  // most the term it asked about, so it skips a whole term per round trip.
  uint64_t hint = log_.findConflictByTerm(std::min(m.index, log_.lastIndex()), m.logTerm);
  r.index = m.index;
  r.reject = true;
  r.rejectHint = hint;
  r.logTerm = log_.term(hint);
  send(std::move(r));
}

void Raft::handleHeartbeat(const Message& m) {
  log_.commitTo(std::min(m.commit, log_.lastIndex()));
  Message r;
  r.type = MsgType::kHeartbeatResp;
  r.to = m.from;
  r.context = m.context;
  send(std::move(r));
}

void Raft::handleSnapshotChunk(const Message& m) {
  Message r;
  r.type = MsgType::kSnapResp;
  r.to = m.from;
  r.index = m.snapMeta.index;
  if (m.snapOffset == 0 || !incomingSnap_ || !(incomingSnapMeta_ == m.snapMeta)) {
    incomingSnapMeta_ = m.snapMeta;
    incomingSnap_.reset();
    if (m.snapOffset != 0) {  // a chunk of a snapshot we do not have the start of
      r.snapOffset = 0;
      send(std::move(r));
      return;
    }
    incomingSnap_ = cfg_.snapshotSink ? cfg_.snapshotSink() : memorySnapshotSink();
  }
  if (m.snapOffset != incomingSnap_->size()) {
    r.snapOffset = incomingSnap_->size();  // ask again from where we are
    send(std::move(r));
    return;
  }
  if (!incomingSnap_->append(m.snapChunk).ok()) {
    incomingSnap_.reset();  // cannot keep it (disk full?): start over later
    r.snapOffset = 0;
    send(std::move(r));
    return;
  }
  if (incomingSnap_->size() < m.snapSize) {
    r.snapOffset = incomingSnap_->size();
    send(std::move(r));
    return;
  }
  auto data = incomingSnap_->finish();
  incomingSnap_.reset();
  incomingSnapMeta_ = {};
  if (!data.ok()) {
    r.snapOffset = 0;
    send(std::move(r));
    return;
  }
  Snapshot snap{m.snapMeta, std::move(data).value()};
  Message ack;
  ack.type = MsgType::kAppResp;
  ack.to = m.from;
  ack.index = restore(std::move(snap)) ? log_.lastIndex() : log_.committed();
  send(std::move(ack));
}

bool Raft::restore(Snapshot snap) {
  if (snap.meta.index <= log_.committed()) return false;
  if (log_.matchTerm(snap.meta.index, snap.meta.term)) {
    // We already have the entries: just fast-forward the commit index.
    log_.commitTo(snap.meta.index);
    return false;
  }
  tracker_.setConf(snap.meta.conf);
  tracker_.reset(snap.meta.conf, snap.meta.index + 1, id_, snap.meta.index);
  log_.restore(std::move(snap));
  return true;
}

void Raft::handleAppendResponse(const Message& m, Progress& pr) {
  pr.recentActive = true;
  if (m.reject) {
    uint64_t next = m.rejectHint;
    if (m.logTerm > 0) next = log_.findConflictByTerm(m.rejectHint, m.logTerm);
    if (pr.maybeDecrTo(m.index, next)) {
      if (pr.state == ProgressState::kReplicate) pr.becomeProbe();
      sendAppend(m.from);
    }
    return;
  }
  bool wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index)) {
    // The peer may already hold everything the pending snapshot covers (an
    // earlier copy completed): leave snapshot state or it stalls forever.
    if (pr.state == ProgressState::kSnapshot && pr.match >= pr.pendingSnapshot) {
      pr.becomeProbe();
      sendAppend(m.from);
    }
    return;
  }
  if (pr.state == ProgressState::kProbe) {
    pr.becomeReplicate();
  } else if (pr.state == ProgressState::kSnapshot && pr.match >= pr.pendingSnapshot) {
    pr.becomeProbe();
  } else if (pr.state == ProgressState::kReplicate) {
    pr.inflights.freeLE(m.index);
  }
  if (maybeCommit()) {
    bcastAppend();
  } else if (wasPaused) {
    sendAppend(m.from);
  }
  Progress* p = tracker_.get(m.from);  // bcastAppend may not invalidate, but re-fetch anyway
  if (!p) return;
  while (maybeSendAppend(m.from, false)) {
  }
  if (m.from == leadTransferee_ && p->match == log_.lastIndex()) {
    Message t;
    t.type = MsgType::kTimeoutNow;
    t.to = m.from;
    send(std::move(t));
  }
}

void Raft::handleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.recentActive = true;
  pr.probeSent = false;
  if (pr.state == ProgressState::kReplicate && pr.inflights.full()) {
    // A lost MsgApp would otherwise stall a full window forever.
    pr.inflights.reset();
  }
  if (pr.state == ProgressState::kSnapshot && pr.match >= pr.pendingSnapshot) {
    pr.becomeProbe();
    sendAppend(m.from);
  } else if (pr.state == ProgressState::kSnapshot) {
    // Resend where the peer last was only if the transfer stalled over a
    // heartbeat interval (a chunk or its answer was lost), and once: a
    // resend on every heartbeat response started one more stream of chunks
    // each time, and a reconnecting peer answers a burst of queued beats.
    if (pr.snapResend) sendSnapshotChunk(m.from, pr);
    pr.snapResend = false;
  } else if (pr.match < log_.lastIndex()) {
    sendAppend(m.from);
  }
  if (m.context.empty()) return;
  auto it = reads_.find(m.context);
  if (it == reads_.end()) return;
  it->second.acks.insert(m.from);
  size_t voters = 0;
  for (NodeId v : tracker_.conf().voters)
    if (it->second.acks.count(v)) ++voters;
  if (voters < tracker_.quorum()) return;
  // Every request queued up to and including this one is now confirmed.
  while (!readQueue_.empty()) {
    std::string ctx = readQueue_.front();
    readQueue_.pop_front();
    auto r = reads_.find(ctx);
    if (r == reads_.end()) continue;
    PendingRead done = std::move(r->second);
    reads_.erase(r);
    respondToRead(done.req, done.index);
    if (ctx == m.context) break;
  }
}

void Raft::handleSnapshotResponse(const Message& m, Progress& pr) {
  if (pr.state != ProgressState::kSnapshot || m.index != pr.pendingSnapshot) return;
  pr.recentActive = true;
  // A second request for the offset already sent (the answer to a resent
  // or duplicate chunk) is not answered again: the chunk is on its way.
  if (m.snapOffset == pr.snapOffset) return;
  pr.snapOffset = m.snapOffset;
  if (pr.snapOffset < pr.snapshot->size()) sendSnapshotChunk(m.from, pr);
}

}  // namespace cairn::raft
