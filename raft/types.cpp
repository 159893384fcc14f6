#include "raft/types.hpp"

namespace cairn::raft {

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
