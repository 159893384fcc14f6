#include "raft/rawnode.hpp"

namespace cairn::raft {

Result<std::unique_ptr<RawNode>> RawNode::create(const Config& cfg, const Storage& storage) {
  auto r = Raft::create(cfg, storage);
  if (!r.ok()) return r.error();
  return std::unique_ptr<RawNode>(new RawNode(std::move(*r), storage.initialState().hard));
}

RawNode::RawNode(std::unique_ptr<Raft> r, const HardState& persisted) : raft_(std::move(r)) {
  prevSoft_ = raft_->softState();
  // What is on disk, so that a bootstrap's first hard state is handed out.
  prevHard_ = persisted;
}

Status RawNode::propose(std::string data) {
  Message m;
  m.type = MsgType::kProp;
  m.from = raft_->id();
  m.entries.push_back(Entry{0, 0, EntryType::kNormal, std::move(data)});
  return raft_->step(std::move(m));
}

Status RawNode::proposeConfChange(const ConfChange& cc) {
  Message m;
  m.type = MsgType::kProp;
  m.from = raft_->id();
  m.entries.push_back(Entry{0, 0, EntryType::kConfChange, cc.encode()});
  return raft_->step(std::move(m));
}

Status RawNode::step(Message m) {
  switch (m.type) {
    case MsgType::kHup:
    case MsgType::kBeat:
    case MsgType::kCheckQuorum:
      return invalidArgument(std::string("local message type from the network: ") +
                             toString(m.type));
    default:
      break;
  }
  if (m.from == kNone) return invalidArgument("message without a sender");
  return raft_->step(std::move(m));
}

void RawNode::transferLeadership(NodeId to) {
  Message m;
  m.type = MsgType::kTransferLeader;
  m.from = to;
  (void)raft_->step(std::move(m));
}

void RawNode::readIndex(std::string context) {
  Message m;
  m.type = MsgType::kReadIndex;
  m.from = raft_->id();
  m.context = std::move(context);
  (void)raft_->step(std::move(m));
}

bool RawNode::hasReady() const {
  const auto& log = raft_->log();
  return !(raft_->softState() == prevSoft_) || !(raft_->hardState() == prevHard_) ||
         !log.unstableEntries().empty() || log.unstableSnapshot().has_value() ||
         (!log.unstableSnapshot() && log.hasNextCommitted()) || raft_->hasMessages() ||
         raft_->hasReadStates();
}

Ready RawNode::ready() {
  Ready rd;
  auto& log = raft_->log();
  SoftState ss = raft_->softState();
  if (!(ss == prevSoft_)) rd.softState = ss;
  HardState hs = raft_->hardState();
  if (!(hs == prevHard_)) rd.hardState = hs;
  rd.entries = log.unstableEntries();
  if (log.unstableSnapshot())
    rd.snapshot = *log.unstableSnapshot();
  else
    rd.committedEntries = log.nextCommitted();
  rd.messages = raft_->takeMessages();
  rd.readStates = raft_->takeReadStates();
  prevSoft_ = ss;
  prevHard_ = hs;
  return rd;
}

void RawNode::advance(const Ready& rd) {
  auto& log = raft_->log();
  if (!rd.snapshot.empty()) {
    log.stableSnapTo(rd.snapshot.meta.index);
    log.appliedTo(rd.snapshot.meta.index);
  }
  if (!rd.entries.empty()) log.stableTo(rd.entries.back().index, rd.entries.back().term);
  if (!rd.committedEntries.empty()) log.appliedTo(rd.committedEntries.back().index);
}

}  // namespace cairn::raft
