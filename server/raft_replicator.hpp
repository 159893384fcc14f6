// RaftReplicator: the Replicator of a real cluster. Runs the Raft core on
// one driver thread: inputs (proposals, peer messages, ticks) are queued;
// each Ready is handled as its contract says: persist (one synced RocksDB
// batch), send, apply to the catalog (one batch per Ready), advance.
// Concurrent proposals share a Ready, so they share one fsync.
//
// A proposal made on a follower is forwarded to the leader by the core and
// acknowledged once this server has applied it (read-your-writes here). It
// is forwarded only while this server's connection to the leader is up; if
// that connection is lost before the answer, or the leader goes silent
// without closing it (this server's election timeout passes, or it hears of
// a new leader or term), the proposal fails at once (its outcome is
// unknown: the leader may have committed it), not after proposalTimeout.
// It is never sent again: a write is not idempotent. A ReadIndex request
// lost either way is asked again of the next reachable leader.
//
// Membership: servers find each other through hellos (each lists the
// servers its sender knows). The leader adds a server it hears from that is
// not in the configuration as a learner, and promotes it to voter once it
// has caught up (autopilot-like); a server that comes back with a new
// identity under the same name or address (its data dir was lost) replaces
// its old, silent identity. Operators can also join, leave, remove a peer
// and transfer leadership.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "raft/rawnode.hpp"
#include "registry/catalog.hpp"
#include "registry/replicator.hpp"
#include "server/leader_change.hpp"
#include "server/transport.hpp"
#include "storage/db.hpp"
#include "storage/raft_storage.hpp"

namespace cairn::server {

// The Raft id of a server: a hash of its node ID (a UUID kept in the data
// dir), so a server that loses its data dir comes back as a new member.
raft::NodeId raftIdFor(const std::string& nodeId);
std::string formatServerId(raft::NodeId id);

// A crash during a snapshot install leaves the catalog partial: this
// installs it again from the kept file. Call before loading the catalog.
Status resumeInterruptedInstall(storage::Db& db, const std::string& snapshotDir);

struct RaftReplicatorConfig {
  raft::NodeId raftId = 0;
  std::string nodeName;
  std::string advertise;  // this server's "ip:port" for peers
  std::string bindAddress = "127.0.0.1";
  uint16_t port = 8300;
  std::vector<std::string> retryJoin;
  int bootstrapExpect = 1;
  std::chrono::milliseconds tick{100};
  int electionTicks = 10;
  uint64_t snapshotEvery = 10'000;  // applied entries between catalog snapshots
  uint64_t keepAfterSnapshot = 1'000;
  // Where snapshots being sent or received are kept as files (the data dir);
  // empty: in memory (tests).
  std::string snapshotDir;
  std::chrono::milliseconds proposalTimeout{10'000};
  std::chrono::milliseconds noLeaderTimeout{5'000};
  std::optional<tls::TlsConfig> tls = std::nullopt;  // mutual TLS between servers; unset: TCP
};

class RaftReplicator final : public registry::Replicator, private Transport::Handler {
 public:
  static Result<std::unique_ptr<RaftReplicator>> create(const RaftReplicatorConfig& cfg,
                                                        storage::Db& db,
                                                        registry::Catalog& catalog);
  ~RaftReplicator() override;

  void propose(std::string command, Done done) override;
  uint64_t maxCommandBytes() const override { return kMaxCommandBytes; }
  std::string leader() const override;
  std::vector<std::string> peers() const override;
  std::vector<ServerInfo> servers() const override;
  bool readsNeedBarrier() const override { return true; }
  void readBarrier(std::function<void(Status)> done) override;
  uint64_t lastContactMs() const override;
  Liveness liveness() const override;
  void spreadLoad(LoadReport report) override;
  void setLoadSink(std::function<void(const LoadReport&)> sink) override;
  std::string selfId() const override { return formatServerId(cfg_.raftId); }
  uint32_t clusterCommandVersion() const override {
    return clusterCommandVersion_.load(std::memory_order_relaxed);
  }
  void forwardTtl(const std::string& serverId, TtlReport report) override;
  void setTtlSink(std::function<void(const TtlReport&)> sink) override;
  Status join(const std::string& address) override;
  void leave(OpDone done) override;
  void removePeer(const std::string& idOrAddress, OpDone done) override;
  void transferLeader(const std::string& id, OpDone done) override;
  uint16_t port() const { return transport_->port(); }
  // Stops taking proposals, fails the pending ones, stops the thread.
  void shutdown();

 private:
  RaftReplicator(const RaftReplicatorConfig& cfg, storage::Db& db, registry::Catalog& catalog);
  void onHello(const PeerHello& hello) override;
  void onMessage(raft::Message m) override;
  void onLoads(LoadReports reports) override;
  void onTtls(TtlReports reports) override;
  void onLink(const std::string& address, bool up) override;
  void flushLoads();
  // Takes the transport's link changes (driver thread): updates linksUp_,
  // puts the reads sent on a connection that was lost and not yet confirmed
  // back in line (a read may be asked again), and returns the ids of the
  // proposals forwarded on it, to fail once this round's committed entries
  // are applied (those that are among them still succeed).
  std::vector<std::string> takeLinkChanges(std::deque<std::pair<std::string, bool>> changes);
  void failLostForwards(const std::vector<std::string>& ids);
  // Once a round (driver thread), after the core has stepped and ticked: if
  // the leader or term differs from the last round's, puts the reads sent
  // under another leader or term and not yet confirmed back in line, and
  // returns the ids of the proposals sent under another, to fail (as
  // takeLinkChanges's) with failMovedForwards.
  std::vector<std::string> takeLeaderChange();
  void failMovedForwards(const std::vector<std::string>& ids);
  LeaderTerm leaderTerm() const;
  // Where a proposal made now would go: "" for this server (the leader),
  // else the leader's address; nullopt while no leader is reachable.
  std::optional<std::string> proposalTarget();

  void run();
  bool maybeBootstrap();
  bool maybeJoinExisting();
  PeerHello makeHello();
  void runTask(std::function<void()> task, OpDone onStop);
  std::optional<raft::NodeId> resolveMember(const std::string& idOrAddress);
  raft::NodeId mostUpToDateOtherVoter() const;
  bool heardRecently(raft::NodeId id, std::chrono::steady_clock::time_point now) const;
  void reconcileMembers(std::chrono::steady_clock::time_point now);
  void progressOps(std::chrono::steady_clock::time_point now);
  void maybePublishLiveness(std::chrono::steady_clock::time_point now);
  void applySystemEntry(std::string_view payload);
  Status startNode(const std::vector<raft::NodeId>& peers);
  void handleReady();
  void sendMessages(const std::vector<raft::Message>& msgs);
  // Applies ents[from, to) to the catalog, commits it and answers their proposers.
  void applyCommitted(const std::vector<raft::Entry>& ents, size_t from, size_t to);
  void applyEntry(const raft::Entry& e, std::vector<std::pair<Done, Result<uint64_t>>>& acks);
  void expireProposals(std::chrono::steady_clock::time_point now);
  void maybeSnapshot();
  storage::RaftStorage::SnapshotSource snapshotSource();
  Status installSnapshot(const raft::Snapshot& snap);
  void publishStatus();
  void serveReads(const std::vector<raft::ReadState>& states);

  struct Proposal {
    std::string command;
    Done done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point leaderDeadline;
    std::string forwardedTo;  // the leader's address; "" when proposed as leader
    LeaderTerm sentUnder;     // the leader and term it was proposed under
  };

  RaftReplicatorConfig cfg_;
  storage::Db& db_;
  registry::Catalog& catalog_;
  std::unique_ptr<storage::RaftStorage> storage_;
  std::unique_ptr<raft::RawNode> node_;
  std::unique_ptr<Transport> transport_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Proposal> incoming_;
  struct ReadWait {
    std::function<void(Status)> done;
    std::chrono::steady_clock::time_point deadline;
    uint64_t index = 0;       // set once the leader has confirmed it
    std::string forwardedTo;  // as Proposal's
    LeaderTerm sentUnder;     // as Proposal's
  };
  std::deque<ReadWait> incomingReads_;
  std::deque<raft::Message> inbox_;
  std::deque<std::pair<std::string, bool>> linkChanges_;  // from the transport
  struct Task {
    std::function<void()> run;  // on the driver thread
    OpDone fail;                // instead, when shutting down
  };
  std::deque<Task> tasks_;
  std::vector<server::LoadReport> loadsOut_;  // taken here, to pass on
  std::vector<LoadReports> loadsIn_;          // from other servers
  std::function<void(const LoadReport&)> loadSink_;
  std::function<void(const TtlReport&)> ttlSink_;
  // Every server this one knows of (itself included), from hellos.
  struct Peer {
    std::string address;
    std::string nodeName;
    std::string clusterId;
    uint64_t incarnation = 0;
    bool leaving = false;
    bool direct = false;          // heard its own hello (not only another's list)
    uint32_t commandVersion = 1;  // as its hello says
  };
  std::map<raft::NodeId, Peer> peers_;
  std::string clusterId_;
  uint64_t incarnation_ = 0;
  bool leaving_ = false;
  bool stopping_ = false;

  // Driver thread only.
  std::set<std::string> linksUp_;  // addresses with an established outbound connection
  LeaderTerm seen_;                // the leader and term as of the last round
  std::deque<Proposal> waitingForLeader_;
  std::map<std::string, Proposal> pending_;  // by proposal id
  uint64_t nextProposal_ = 1;
  uint64_t lastSnapshot_ = 0;
  std::deque<ReadWait> readsWithoutLeader_;
  std::map<std::string, ReadWait> readsInFlight_;  // by ReadIndex context
  // Puts the reads in flight that their leader has not confirmed and that
  // `lost` picks back in line, to be asked again (driver thread).
  void askReadsAgain(const std::function<bool(const ReadWait&)>& lost);
  // Fails the pending proposals among `ids` (those still pending) with
  // why(proposal); *address: the leader the last one went to. Returns how
  // many failed.
  size_t failPending(const std::vector<std::string>& ids,
                     const std::function<std::string(const Proposal&)>& why, std::string* address);
  uint64_t nextRead_ = 1;
  std::atomic<int64_t> lastContactNs_{0};
  std::atomic<uint32_t> clusterCommandVersion_{
      1};  // set by publishStatus  // steady clock, last message from the leader
  std::map<raft::NodeId, std::chrono::steady_clock::time_point> lastHeard_;
  std::map<raft::NodeId, uint64_t> removed_;  // id -> incarnation when removed
  std::chrono::steady_clock::time_point nextReconcile_{};
  struct ConfWait {
    raft::ConfChange cc;
    OpDone done;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<ConfWait> confWaits_;
  struct TransferWait {
    raft::NodeId to = 0;
    OpDone done;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<TransferWait> transferWaits_;
  struct LeaveState {
    OpDone done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point retryAt;
  };
  std::optional<LeaveState> leave_;
  // Liveness: what the leader last published, and (on the leader) what it
  // will publish next.
  uint64_t livenessTerm_ = 0;
  uint64_t livenessSeq_ = 0;
  std::vector<raft::NodeId> publishedLive_;
  std::chrono::steady_clock::time_point livenessChangedAt_{};

  // Published for other threads.
  mutable std::mutex statusMu_;
  std::string leaderAddress_;
  std::vector<std::string> peerAddresses_;
  std::vector<ServerInfo> servers_;
  Liveness liveness_;

  std::thread thread_;
};

}  // namespace cairn::server
