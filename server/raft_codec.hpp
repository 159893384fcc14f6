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
