// When a request sent through the Raft core can no longer be answered by
// the leader it went to. Pure: value types and functions, no I/O.
//
// A follower forwards a proposal (MsgProp) or a ReadIndex request to the
// leader it knows. If that leader goes silent without closing its
// connections (a stopped process, a partition that drops packets), no
// answer and no connection loss ever come: only Raft notices, when this
// server's election timeout passes (no leader) or it hears of a new leader
// or term. From then on the old leader cannot answer in its old term, so
// the request is lost: a write's outcome is unknown (the old leader may
// have committed it, and a new leader may still commit it), a read may be
// asked again.
#pragma once

#include <cstdint>
#include <string>

#include "raft/types.hpp"

namespace cairn::server {

// The leader a request was sent to (this server, when it was the leader)
// and its term, as this server saw them.
struct LeaderTerm {
  raft::NodeId lead = raft::kNone;
  uint64_t term = 0;
  bool operator==(const LeaderTerm&) const = default;
};

// True once a request sent under `sent` is lost, seeing `now`: no leader
// (the election timeout passed), another leader, or a new term of the same
// leader (its entries not yet committed may have been overwritten).
inline bool leaderMoved(const LeaderTerm& sent, const LeaderTerm& now) {
  return !(sent == now);
}

// The error of a write lost that way (its outcome is unknown). `self` is
// this server's id, `leaderAddress` the old leader's address.
std::string movedWriteMessage(const LeaderTerm& sent, const LeaderTerm& now, raft::NodeId self,
                              const std::string& leaderAddress);

}  // namespace cairn::server
