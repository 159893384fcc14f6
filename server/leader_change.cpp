#include "server/leader_change.hpp"

namespace cairn::server {

std::string movedWriteMessage(const LeaderTerm& sent, const LeaderTerm& now, raft::NodeId self,
                              const std::string& leaderAddress) {
  const std::string term = std::to_string(now.term);
  if (sent.lead == self) {
    std::string why = now.lead == raft::kNone ? "no quorum answered within the election timeout"
                                              : "another leader was elected, term " + term;
    return "this server lost its leadership (" + why +
           ") before the write was committed; its outcome is unknown: it may still be committed";
  }
  std::string what;
  if (now.lead == raft::kNone)
    what = "stopped answering (this server heard nothing from it for an election timeout)";
  else if (now.lead == sent.lead)
    what = "started a new term (" + term + ")";
  else if (now.lead == self)
    what = "was replaced: this server was elected leader, term " + term;
  else
    what = "was replaced: a new leader was elected, term " + term;
  return "the leader at " + leaderAddress + " " + what +
         " before the write was acknowledged; its outcome is unknown: the leader may have "
         "committed it";
}

}  // namespace cairn::server
