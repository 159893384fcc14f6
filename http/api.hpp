// Api: Consul's /v1 HTTP API over the catalog. Pure request -> Outcome
// logic: reads come from the current registry View, writes are proposed
// through the Replicator. No sockets here (see server.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "http/acl_authz.hpp"
#include "http/metrics.hpp"
#include "http/response_cache.hpp"
#include "http/types.hpp"
#include "http/worker.hpp"
#include "registry/command.hpp"
#include "registry/replicator.hpp"
#include "registry/watch.hpp"

namespace cairn::dns {
class LoadTable;
enum class Order : uint8_t;
}  // namespace cairn::dns

namespace cairn::http {

// Who this server is, for /v1/agent/* answers.
struct AgentIdentity {
  std::string nodeName;
  std::string nodeId;
  std::string datacenter = "dc1";
  std::string address;  // the node's address
  int serverPort = 8300;
  std::string version;
};

// The mesh's settings (connect_endpoints.cpp).
struct ConnectOptions {
  int64_t leafCertTtlSeconds = 72 * 3600;  // connect.leaf_cert_ttl
  // What authorize and intention checks answer when no intention matches
  // (connect.default_intention_policy; allow, as Consul with ACLs off).
  bool defaultAllow = true;
  // Unix seconds; null: the system clock. Tests pin it.
  std::function<int64_t()> now;
};

// Told what this server's /v1/agent endpoints register and deregister (the
// agent's "local state", kept by server/agent_local_store.hpp), so that the
// server can bring it back when the catalog loses it. Thread-safe: called
// on HTTP and replicator threads; must not block for long.
class AgentLocalSink {
 public:
  virtual ~AgentLocalSink() = default;
  // After `cmd` (a service with its checks, or checks alone, as defined:
  // statuses as registered) has been applied.
  virtual void registered(const registry::RegisterCommand& cmd) = 0;
  // Before a deregistration of a service (serviceId set) or a check is
  // proposed, so that nothing brings it back meanwhile; `viewIndex` is the
  // catalog index the request was checked against.
  virtual void deregistering(const std::string& serviceId, const std::string& checkId,
                             uint64_t viewIndex) = 0;
  // True when the service (serviceId set) or check was registered through
  // the agent API and not deregistered since: a deregistration is taken
  // even while the catalog has lost it.
  virtual bool knows(const std::string& serviceId, const std::string& checkId) const = 0;
};

struct ApiOptions {
  std::chrono::milliseconds defaultWait{5 * 60 * 1000};
  std::chrono::milliseconds maxWait{10 * 60 * 1000};
  uint64_t jitterSeed = 0;  // 0: seeded from the clock
  // Soft-state instance loads (PUT /v1/agent/service/load/:id, and
  // ?order=least-loaded). Null: the Api keeps a table of its own.
  dns::LoadTable* loads = nullptr;
  // Called once a graceful leave (PUT /v1/agent/leave) is done and answered:
  // the agent then stops.
  std::function<void()> onLeave;
  // Appends more Prometheus text to /metrics (the DNS server's counters).
  // Called on an HTTP thread, possibly on several at once.
  std::function<void(std::string& out)> moreMetrics;
  // TTL reports (PUT /v1/agent/check/pass|warn|fail|update/:id) are passed
  // here first (the health checker restarts the check's TTL timer). Must not
  // block. A report that changes nothing in the catalog is not written.
  std::function<void(const registry::CheckStatusCommand&)> onTtlReport;
  // Script checks (Args) run programs on the servers: registrations that
  // carry one are refused unless this is on (enable_script_checks).
  bool enableScriptChecks = false;
  // ACL enforcement (off by default).
  AclOptions acl;
  ConnectOptions connect{};
  // Null: the agent endpoints' registrations are not recorded.
  AgentLocalSink* agentLocal = nullptr;
};

class LeafCache;

class Api final : public Handler {
 public:
  Api(registry::WatchHub& hub, registry::Replicator& replicator, AgentIdentity self,
      ApiOptions opts = {});

  Outcome handle(const Request& req) override;
  void observe(const Request& req, int status, std::chrono::microseconds latency) override;
  registry::WatchHub& watches() override { return hub_; }

  const Metrics& metrics() const { return metrics_; }

  // Answers the snapshot requests still waiting with 503 and waits for the
  // one in progress. Call before the HTTP server stops; later snapshot
  // requests get 503 at once.
  void stopBackgroundWork() { worker_.stop(); }

 private:
  using View = registry::View;
  struct Route {
    std::string path;       // exact path, or a prefix ending in '/' when takesArg
    bool takesArg = false;  // the rest of the path is the argument (:id, :name)
    std::vector<std::string> methods;
    std::string name;  // the pattern reported in metrics
    Outcome (Api::*fn)(const Request&, const std::string&) = nullptr;
  };

  // A read: answers at once, or blocks when ?index is given.
  Outcome query(const Request& req, std::vector<std::string> keys,
                std::function<uint64_t(const View&)> indexOf,
                std::function<Response(const View&)> render);
  // A write: proposes cmd and answers with onOk once applied here.
  // `beforePropose` runs once the command is allowed, just before it is proposed.
  Outcome write(const registry::Command& cmd, std::function<Response(uint64_t)> onOk,
                const std::function<void()>& beforePropose = {});
  // A TTL check's report: passed to opts_.onTtlReport, written if it changes
  // `current`.
  Outcome ttlReport(const registry::Check& current, registry::CheckStatusCommand cmd);
  // Writes through the agent endpoints, told to opts_.agentLocal: `cmd` is
  // proposed, `defined` (the same, with the statuses as registered) recorded
  // once applied; a deregistration is recorded before it is proposed.
  Outcome agentRegister(registry::RegisterCommand cmd, registry::RegisterCommand defined);
  Outcome agentDeregister(const std::string& serviceId, const std::string& checkId);
  // In the catalog on this node, or in opts_.agentLocal.
  bool agentHasService(const std::string& id) const;
  bool agentHasCheck(const std::string& id) const;
  void addIndexHeaders(Response& r, uint64_t index) const;
  Outcome dispatch(const Route& r, const Request& req, const std::string& arg);
  // With ACLs on: checks what route r needs of `caller` (resolved from
  // `secret` in `view`) and dispatches as that caller. `afterBarrier`: the
  // read barrier was passed after the request arrived, so a read needs no
  // other.
  Outcome dispatchAs(const Route& r, const Request& req, const std::string& arg,
                     const Result<Caller>& caller, std::string secret, const View& view,
                     bool afterBarrier);
  // With ACLs on: a 403 when the calling token may not write `check`.
  std::optional<Response> aclDenied(const registry::Check& check) const;

  // agent_endpoints.cpp
  Outcome agentSelf(const Request& req, const std::string& arg);
  Outcome agentServices(const Request& req, const std::string& arg);
  Outcome agentService(const Request& req, const std::string& arg);
  Outcome agentServiceRegister(const Request& req, const std::string& arg);
  Outcome agentServiceDeregister(const Request& req, const std::string& arg);
  Outcome agentServiceMaintenance(const Request& req, const std::string& arg);
  Outcome agentMaintenance(const Request& req, const std::string& arg);
  // Why a registration carrying `checks` is refused ("" when it is not).
  std::string scriptChecksRefused(const std::vector<registry::Check>& checks) const;
  Outcome agentChecks(const Request& req, const std::string& arg);
  Outcome agentCheckRegister(const Request& req, const std::string& arg);
  Outcome agentCheckDeregister(const Request& req, const std::string& arg);
  Outcome agentCheckTtl(const Request& req, const std::string& arg, registry::HealthStatus s);
  Outcome agentCheckUpdate(const Request& req, const std::string& arg);
  Outcome agentMembers(const Request& req, const std::string& arg);
  Outcome operatorRaftConfiguration(const Request& req, const std::string& arg);
  Outcome operatorRaftPeerDelete(const Request& req, const std::string& arg);
  Outcome operatorTransferLeader(const Request& req, const std::string& arg);
  Outcome operatorAutopilotHealth(const Request& req, const std::string& arg);
  Outcome agentJoin(const Request& req, const std::string& arg);
  Outcome agentLeave(const Request& req, const std::string& arg);
  // load_endpoint.cpp
  Outcome agentServiceLoad(const Request& req, const std::string& arg);
  // For ?order= on /v1/health/service: a permutation of `instances` by
  // weighted random choice or by reported load (see dns/order.hpp).
  std::vector<size_t> instanceOrder(const View& v,
                                    const std::vector<const registry::Instance*>& instances,
                                    dns::Order order);
  // catalog_endpoints.cpp
  Outcome catalogRegister(const Request& req, const std::string& arg);
  Outcome catalogDeregister(const Request& req, const std::string& arg);
  Outcome catalogServices(const Request& req, const std::string& arg);
  Outcome catalogService(const Request& req, const std::string& arg);
  Outcome catalogNodes(const Request& req, const std::string& arg);
  Outcome catalogNode(const Request& req, const std::string& arg);
  Outcome catalogDatacenters(const Request& req, const std::string& arg);
  // health_endpoints.cpp
  Outcome healthService(const Request& req, const std::string& arg);
  Outcome healthChecks(const Request& req, const std::string& arg);
  Outcome healthNode(const Request& req, const std::string& arg);
  Outcome healthState(const Request& req, const std::string& arg);
  Outcome statusLeader(const Request& req, const std::string& arg);
  Outcome statusPeers(const Request& req, const std::string& arg);
  Outcome metricsPage(const Request& req, const std::string& arg);
  // acl_endpoints.cpp
  Outcome aclBootstrap(const Request& req, const std::string& arg);
  Outcome aclPolicyCreate(const Request& req, const std::string& arg);
  Outcome aclPolicy(const Request& req, const std::string& arg);
  Outcome aclPolicyByName(const Request& req, const std::string& arg);
  Outcome aclPolicies(const Request& req, const std::string& arg);
  Outcome aclTokenCreate(const Request& req, const std::string& arg);
  Outcome aclToken(const Request& req, const std::string& arg);
  Outcome aclTokenSelf(const Request& req, const std::string& arg);
  Outcome aclTokens(const Request& req, const std::string& arg);
  // A policy or token write from a request body (create when id is "").
  Outcome aclPolicyWrite(const Request& req, const std::string& id);
  Outcome aclTokenWrite(const Request& req, const std::string& id);
  // snapshot_endpoint.cpp
  Outcome snapshot(const Request& req, const std::string& arg);
  Outcome snapshotSave(const Request& req);
  Outcome snapshotRestore(const Request& req);

  // connect_endpoints.cpp
  Outcome connectCaRoots(const Request& req, const std::string& arg);
  Outcome connectCaLeaf(const Request& req, const std::string& service);
  Outcome connectAuthorize(const Request& req, const std::string& arg);
  Outcome connectCaConfiguration(const Request& req, const std::string& arg);
  Outcome connectCaRotate(const Request& req, const std::string& arg);
  Outcome healthConnect(const Request& req, const std::string& service);
  int64_t nowSeconds() const;
  // intention_endpoints.cpp
  Outcome intentions(const Request& req, const std::string& arg);
  Outcome intentionById(const Request& req, const std::string& id);
  Outcome intentionExact(const Request& req, const std::string& arg);
  Outcome intentionCheck(const Request& req, const std::string& arg);

  const Route* match(const std::string& path, std::string& arg) const;

  registry::WatchHub& hub_;
  registry::Replicator& replicator_;
  AgentIdentity self_;
  ApiOptions opts_;
  Metrics metrics_;
  ResponseCache responses_;
  std::vector<Route> routes_;
  std::mutex rngMu_;
  std::mt19937_64 rng_;
  std::shared_ptr<dns::LoadTable> ownLoads_;
  dns::LoadTable* loads_;
  std::shared_ptr<LeafCache> leaves_;  // this server's leaf certificates, per service
  // Snapshot work, off the I/O threads. Last: its jobs use the members above,
  // so it stops (joining its thread) before they go.
  static constexpr size_t kMaxQueuedSnapshotJobs = 4;
  Worker worker_{kMaxQueuedSnapshotJobs};
};

// Maps an error to Consul's status code and a text body.
Response errorResponse(const Error& e);

}  // namespace cairn::http
