#include "raft/config.hpp"

#include <algorithm>

namespace cairn::raft {

Status Config::validate() const {
  if (id == kNone) return invalidArgument("raft config: id must not be 0");
  if (heartbeatTick <= 0) return invalidArgument("raft config: heartbeatTick must be > 0");
  if (electionTick <= heartbeatTick)
    return invalidArgument("raft config: electionTick must be greater than heartbeatTick");
  if (maxInflightMsgs == 0) return invalidArgument("raft config: maxInflightMsgs must be > 0");
  if (maxSizePerMsg == 0) return invalidArgument("raft config: maxSizePerMsg must be > 0");
  if (snapshotChunkBytes == 0)
    return invalidArgument("raft config: snapshotChunkBytes must be > 0");
  if (std::count(peers.begin(), peers.end(), kNone))
    return invalidArgument("raft config: peers must not contain 0");
  return {};
}

}  // namespace cairn::raft
