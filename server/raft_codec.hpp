// Encoding of server-to-server frames: a 4-byte big-endian length, then a
// versioned protobuf Frame. Decoding validates everything it reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.hpp"
#include "raft/types.hpp"

namespace cairn::server {

inline constexpr uint32_t kWireVersion = 1;
inline constexpr uint32_t kMaxFrameBytes = 16u << 20;
// Largest command a cluster replicates. A log entry travels alone in a frame
// when it is this big (the core caps batches at maxSizePerMsg but always sends
// one entry), so this leaves room for the proposal id and the message fields.
// A bigger entry could never reach a follower: the leader would resend it
// forever and nothing after it would commit.
inline constexpr uint32_t kMaxCommandBytes = kMaxFrameBytes - (64u << 10);

struct PeerHello {
  raft::NodeId raftId = 0;
  std::string address;
  std::string clusterId;
  std::string nodeName;
};

using Frame = std::variant<PeerHello, raft::Message>;

// The whole frame, length prefix included.
std::string encodeFrame(const Frame& f);
// Decodes a frame body (without the length prefix).
Result<Frame> decodeFrame(std::string_view body);

}  // namespace cairn::server
