// Replicator: how a write reaches the catalog. The HTTP layer proposes an
// encoded command and is told, once the command is applied on this server,
// whether it succeeded. One-server and Raft implementations live in server/.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "registry/model.hpp"

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
    // The leader's view (from replication acknowledgements): "alive" or
    // "failed"; "left" once a server asked to leave.
    std::string status = "alive";
    uint64_t lastContactMs = 0;  // as the leader last heard from it
    uint64_t matchIndex = 0;     // the last log index known replicated there
  };
  virtual std::vector<ServerInfo> servers() const = 0;

  // Which servers are live, as the leader sees them. `epoch` grows with each
  // published change (the leader's term in the high bits); `stale` is set on
  // a server that has not heard from a leader for an election timeout, so
  // its view may be out of date (the minority side of a partition).
  struct Liveness {
    uint64_t epoch = 0;
    std::vector<std::string> live;  // server ids, sorted
    bool stale = false;
  };
  virtual Liveness liveness() const { return {1, {}, false}; }
  // This server's id as liveness() lists it; "" for a one-server agent,
  // which runs every health check itself.
  virtual std::string selfId() const { return ""; }
  // The newest command version every server of the configuration applies
  // (a server that has not said counts as version 1), so that a newer
  // command is proposed only once no server would refuse it.
  virtual uint32_t clusterCommandVersion() const { return 1; }

  // Soft state: an instance's reported load (never written through Raft).
  // spreadLoad passes a report taken here to the other servers (through the
  // leader); reports from elsewhere arrive at the sink set by setLoadSink.
  struct LoadReport {
    std::string node;
    std::string serviceId;
    double load = 0;
    uint32_t ttlMs = 0;
  };
  virtual void spreadLoad(LoadReport report) { (void)report; }
  virtual void setLoadSink(std::function<void(const LoadReport&)> sink) { (void)sink; }

  // Soft state: a TTL check's report, taken by any server and passed to the
  // server that runs the check (which keeps its TTL timer). Lost if that
  // server cannot be reached; the TTL then decides, as for a lost heartbeat.
  struct TtlReport {
    std::string node;
    std::string checkId;
    HealthStatus status = HealthStatus::kCritical;
    std::string output;
  };
  // `serverId` as liveness() names it. Thread-safe, does not block.
  virtual void forwardTtl(const std::string& serverId, TtlReport report) {
    (void)serverId;
    (void)report;
  }
  virtual void setTtlSink(std::function<void(const TtlReport&)> sink) { (void)sink; }

  // Cluster operations (servers only; a one-server -dev agent refuses them).
  // Each `done` runs on a replicator thread and must not block.
  using OpDone = std::function<void(Status)>;
  // Connects to another server's server port; the leader then adds whichever
  // side is new to the configuration (as a learner, promoted once caught up).
  virtual Status join(const std::string& address) {
    (void)address;
    return invalidArgument("join: this agent is not running as a server (-server)");
  }
  // Graceful leave: hands over leadership if leader, then removes itself.
  virtual void leave(OpDone done) {
    done(invalidArgument("leave: this agent is not running as a server (-server)"));
  }
  // Removes a server by id ("0123abcd…" as listed, or its node ID) or address.
  virtual void removePeer(const std::string& idOrAddress, OpDone done) {
    (void)idOrAddress;
    done(invalidArgument("remove-peer: this agent is not running as a server (-server)"));
  }
  // Moves leadership to `id` (empty: the most up-to-date other voter).
  virtual void transferLeader(const std::string& id, OpDone done) {
    (void)id;
    done(invalidArgument("transfer-leader: this agent is not running as a server (-server)"));
  }

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
