#include "raft/types.hpp"

namespace cairn::raft {

namespace {

class StringData final : public SnapshotData {
 public:
  explicit StringData(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<std::string> read(uint64_t offset, uint64_t n) const override {
    if (offset > bytes_.size()) return invalidArgument("snapshot read beyond the end");
    return bytes_.substr(offset, n);
  }

 private:
  std::string bytes_;
};

class MemorySink final : public SnapshotSink {
 public:
  Status append(std::string_view chunk) override {
    bytes_.append(chunk);
    return {};
  }
  uint64_t size() const override { return bytes_.size(); }
  Result<std::shared_ptr<const SnapshotData>> finish() override {
    return snapshotFromString(std::move(bytes_));
  }

 private:
  std::string bytes_;
};

}  // namespace

std::shared_ptr<const SnapshotData> snapshotFromString(std::string bytes) {
  return std::make_shared<StringData>(std::move(bytes));
}

std::unique_ptr<SnapshotSink> memorySnapshotSink() {
  return std::make_unique<MemorySink>();
}

std::string Snapshot::readAll() const {
  if (!data) return {};
  auto r = data->read(0, data->size());
  CAIRN_CHECK(r.ok(), "snapshot data unreadable");
  return std::move(r).value();
}

std::string ConfChange::encode() const {
  std::string s(9, '\0');
  s[0] = static_cast<char>(type);
  for (int i = 0; i < 8; ++i) s[1 + i] = static_cast<char>((node >> (56 - 8 * i)) & 0xff);
  return s;
}

std::optional<ConfChange> ConfChange::decode(const std::string& data) {
  if (data.size() != 9 || static_cast<uint8_t>(data[0]) > 2) return std::nullopt;
  ConfChange cc;
  cc.type = static_cast<ConfChangeType>(data[0]);
  for (int i = 0; i < 8; ++i) cc.node = (cc.node << 8) | static_cast<uint8_t>(data[1 + i]);
  return cc;
}

const char* toString(MsgType t) {
  switch (t) {
    case MsgType::kHup:
      return "Hup";
    case MsgType::kBeat:
      return "Beat";
    case MsgType::kCheckQuorum:
      return "CheckQuorum";
    case MsgType::kProp:
      return "Prop";
    case MsgType::kApp:
      return "App";
    case MsgType::kAppResp:
      return "AppResp";
    case MsgType::kVote:
      return "Vote";
    case MsgType::kVoteResp:
      return "VoteResp";
    case MsgType::kPreVote:
      return "PreVote";
    case MsgType::kPreVoteResp:
      return "PreVoteResp";
    case MsgType::kSnap:
      return "Snap";
    case MsgType::kSnapResp:
      return "SnapResp";
    case MsgType::kHeartbeat:
      return "Heartbeat";
    case MsgType::kHeartbeatResp:
      return "HeartbeatResp";
    case MsgType::kTransferLeader:
      return "TransferLeader";
    case MsgType::kTimeoutNow:
      return "TimeoutNow";
    case MsgType::kReadIndex:
      return "ReadIndex";
    case MsgType::kReadIndexResp:
      return "ReadIndexResp";
  }
  return "?";
}

const char* toString(Role r) {
  switch (r) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

}  // namespace cairn::raft
