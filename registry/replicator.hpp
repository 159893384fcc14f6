// Replicator: how a write reaches the catalog. The HTTP layer proposes an
// encoded command and is told, once the command is applied on this server,
// whether it succeeded. One-server and Raft implementations live in server/.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace cairn::registry {

class Replicator {
 public:
  virtual ~Replicator() = default;

  // Called once, on a replicator thread, when the command has been applied
  // on this server (or has failed). The value is the command's log index.
  using Done = std::function<void(Result<uint64_t>)>;

  // Proposes an encoded command. Thread-safe. `done` must not block. A
  // command larger than maxCommandBytes() fails with kInvalidArgument.
  virtual void propose(std::string command, Done done) = 0;
  // The largest encoded command propose() takes.
  virtual uint64_t maxCommandBytes() const { return UINT64_MAX; }

  // Leader address ("ip:port") or "" when there is none known.
  virtual std::string leader() const = 0;
  virtual std::vector<std::string> peers() const = 0;

  // The servers of the cluster configuration, for operator views.
  struct ServerInfo {
    std::string id;
    std::string node;
    std::string address;
    bool leader = false;
    bool voter = true;
  };
  virtual std::vector<ServerInfo> servers() const = 0;

  // Linearizable reads (thesis 6.4). When readsNeedBarrier(), a consistent
  // read first calls readBarrier(); `done` runs (on a replicator thread)
  // once this server's view includes every write committed before the
  // call, or with an error (no leader, timeout). A single server needs none.
  virtual bool readsNeedBarrier() const { return false; }
  virtual void readBarrier(std::function<void(Status)> done) { done({}); }
  // Milliseconds since this server last heard from the leader (0 on the
  // leader itself), for X-Consul-LastContact.
  virtual uint64_t lastContactMs() const { return 0; }
};

}  // namespace cairn::registry
