// RaftReplicator: the Replicator of a real cluster. Runs the Raft core on
// one driver thread: inputs (proposals, peer messages, ticks) are queued;
// each Ready is handled as its contract says: persist (one synced RocksDB
// batch), send, apply to the catalog (one batch per Ready), advance.
// Concurrent proposals share a Ready, so they share one fsync.
//
// A proposal made on a follower is forwarded to the leader by the core and
// acknowledged once this server has applied it (read-your-writes here).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "raft/rawnode.hpp"
#include "registry/catalog.hpp"
#include "registry/replicator.hpp"
#include "server/transport.hpp"
#include "storage/db.hpp"
#include "storage/raft_storage.hpp"

namespace cairn::server {

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
  std::chrono::milliseconds proposalTimeout{10'000};
  std::chrono::milliseconds noLeaderTimeout{5'000};
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
  uint16_t port() const { return transport_->port(); }
  // Stops taking proposals, fails the pending ones, stops the thread.
  void shutdown();

 private:
  RaftReplicator(const RaftReplicatorConfig& cfg, storage::Db& db, registry::Catalog& catalog);
  void onHello(const PeerHello& hello) override;
  void onMessage(raft::Message m) override;

  void run();
  bool maybeBootstrap();
  Status startNode(const std::vector<raft::NodeId>& peers);
  void handleReady();
  void applyEntry(const raft::Entry& e, std::vector<std::pair<Done, Result<uint64_t>>>& acks);
  void expireProposals(std::chrono::steady_clock::time_point now);
  void maybeSnapshot();
  void publishStatus();
  void serveReads(const std::vector<raft::ReadState>& states);

  struct Proposal {
    std::string command;
    Done done;
    std::chrono::steady_clock::time_point deadline;
    std::chrono::steady_clock::time_point leaderDeadline;
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
    uint64_t index = 0;  // set once the leader has confirmed it
  };
  std::deque<ReadWait> incomingReads_;
  std::deque<raft::Message> inbox_;
  std::map<raft::NodeId, std::string> addresses_;     // raft id -> "ip:port"
  std::map<raft::NodeId, std::string> peerClusters_;  // raft id -> its cluster ID
  std::string clusterId_;
  bool stopping_ = false;

  // Driver thread only.
  std::deque<Proposal> waitingForLeader_;
  std::map<std::string, Proposal> pending_;  // by proposal id
  uint64_t nextProposal_ = 1;
  uint64_t lastSnapshot_ = 0;
  std::deque<ReadWait> readsWithoutLeader_;
  std::map<std::string, ReadWait> readsInFlight_;  // by ReadIndex context
  uint64_t nextRead_ = 1;
  std::atomic<int64_t> lastContactNs_{0};  // steady clock, last message from the leader

  // Published for other threads.
  mutable std::mutex statusMu_;
  std::string leaderAddress_;
  std::vector<std::string> peerAddresses_;
  std::vector<ServerInfo> servers_;
  std::map<raft::NodeId, std::string> peerNames_;  // raft id -> node name (from hellos)

  std::thread thread_;
};

}  // namespace cairn::server
