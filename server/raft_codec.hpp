// Encoding of server-to-server frames: a 4-byte big-endian length, then a
// versioned protobuf Frame. Decoding validates everything it reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "raft/types.hpp"
#include "registry/model.hpp"

namespace cairn::server {

inline constexpr uint32_t kWireVersion = 1;
inline constexpr uint32_t kMaxFrameBytes = 16u << 20;
// Largest command a cluster replicates. A log entry travels alone in a frame
// when it is this big (the core caps batches at maxSizePerMsg but always sends
// one entry), so this leaves room for the proposal id and the message fields.
// A bigger entry could never reach a follower: the leader would resend it
// forever and nothing after it would commit.
inline constexpr uint32_t kMaxCommandBytes = kMaxFrameBytes - (64u << 10);

struct PeerAddress {
  raft::NodeId raftId = 0;
  std::string address;
  std::string nodeName;
  bool operator==(const PeerAddress&) const = default;
};

// The first frame on every connection: who is speaking, and the servers it
// knows (so a server that reaches any one member learns of all of them).
struct PeerHello {
  raft::NodeId raftId = 0;
  std::string address;
  std::string clusterId;
  std::string nodeName;
  std::vector<PeerAddress> known;
  uint64_t incarnation = 0;
  bool leaving = false;
  uint32_t commandVersion = 1;  // the newest catalog command version it applies
};

inline constexpr size_t kMaxKnownPeers = 64;

// Soft state (instances' reported loads) that servers pass around outside
// Raft: a follower sends what it was told to the leader, the leader sends
// everything to every server.
struct LoadReport {
  std::string node;
  std::string serviceId;
  double load = 0;
  uint32_t ttlMs = 0;
};
struct LoadReports {
  raft::NodeId from = 0;
  std::vector<LoadReport> reports;
};
inline constexpr size_t kMaxLoadReportsPerFrame = 4096;

// TTL checks' reports, passed to the server that runs the checks.
struct TtlReport {
  std::string node;
  std::string checkId;
  registry::HealthStatus status = registry::HealthStatus::kCritical;
  std::string output;
};
struct TtlReports {
  raft::NodeId from = 0;
  std::vector<TtlReport> reports;
};
inline constexpr size_t kMaxTtlReportsPerFrame = 1024;
inline constexpr size_t kMaxTtlOutputBytes = 4096;

// A frame body this version does not know (a newer peer's): skipped.
struct UnknownFrame {};

using Frame = std::variant<PeerHello, raft::Message, LoadReports, TtlReports, UnknownFrame>;

// The whole frame, length prefix included.
std::string encodeFrame(const Frame& f);
// Decodes a frame body (without the length prefix).
Result<Frame> decodeFrame(std::string_view body);

}  // namespace cairn::server
