// RawNode: the driver-facing API of the core (etcd-io/raft rawnode.go).
// The driver calls tick()/step()/propose() as events arrive, and whenever
// hasReady() it takes ready(), carries out the Ready contract (types.hpp),
// and calls advance(). Not thread-safe: run it on one thread or strand.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "raft/raft.hpp"

namespace cairn::raft {

class RawNode {
 public:
  static Result<std::unique_ptr<RawNode>> create(const Config& cfg, const Storage& storage);

  void tick() { raft_->tick(); }
  // Starts an election now (if this node may).
  void campaign() { (void)raft_->step(localMessage(MsgType::kHup)); }
  // Proposes data for the log. Fails (and nothing is appended) when there is
  // no leader to take it or a leadership transfer is in progress.
  Status propose(std::string data);
  Status proposeConfChange(const ConfChange& cc);
  // A message from a peer. Local-only message types are refused.
  Status step(Message m);
  // Applies a committed membership change; returns the new configuration.
  ConfState applyConfChange(const ConfChange& cc) { return raft_->applyConfChange(cc); }
  // Asks the leader to hand leadership to `to` (thesis 3.10).
  void transferLeadership(NodeId to);
  // Requests a linearizable read; a ReadState with this context appears in
  // a later Ready once the leader has confirmed its leadership.
  void readIndex(std::string context);

  bool hasReady() const;
  Ready ready();
  void advance(const Ready& rd);

  const Raft& raft() const { return *raft_; }
  SoftState softState() const { return raft_->softState(); }
  HardState hardState() const { return raft_->hardState(); }

 private:
  RawNode(std::unique_ptr<Raft> r, const HardState& persisted);

  std::unique_ptr<Raft> raft_;
  SoftState prevSoft_;
  HardState prevHard_;
};

}  // namespace cairn::raft
