// LocalReplicator: the Replicator of a one-server cluster. Proposals are
// appended to the RocksDB log (one synced batch per group of concurrent
// proposals: group commit), applied to the catalog, published, and only
// then acknowledged. The Raft driver replaces it for real clusters.
//
// Threading: one apply thread owns the log and the catalog's apply side.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "registry/catalog.hpp"
#include "registry/command.hpp"
#include "registry/replicator.hpp"
#include "storage/db.hpp"

namespace cairn::server {

class LocalReplicator final : public registry::Replicator {
 public:
  // Replays log entries the catalog has not applied yet, then starts the
  // apply thread. `advertise` is this server's "ip:port" for status APIs.
  static Result<std::unique_ptr<LocalReplicator>> create(storage::Db& db,
                                                         registry::Catalog& catalog,
                                                         std::string advertise);
  ~LocalReplicator() override;

  void propose(std::string command, Done done) override;
  std::string leader() const override { return advertise_; }
  std::vector<std::string> peers() const override { return {advertise_}; }
  std::vector<ServerInfo> servers() const override {
    return {{"1", nodeName_, advertise_, true, true}};
  }
  // One server: it runs every check and applies every command it can decode.
  uint32_t clusterCommandVersion() const override { return registry::kCommandVersion; }
  void setNodeName(std::string n) { nodeName_ = std::move(n); }

  // Finishes every proposal already accepted, then stops the thread. Later
  // proposals fail with kUnavailable. Idempotent.
  void shutdown();

 private:
  LocalReplicator(storage::Db& db, registry::Catalog& catalog, std::string advertise);
  void run();
  void maybeCompact();

  struct Pending {
    std::string command;
    Done done;
  };

  storage::Db& db_;
  registry::Catalog& catalog_;
  std::string advertise_;
  std::string nodeName_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
  uint64_t lastIndex_ = 0;
  uint64_t compactedTo_ = 0;
};

}  // namespace cairn::server
