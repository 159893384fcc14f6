#include "server/agent.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#ifdef CAIRN_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "common/duration.hpp"
#include "common/log.hpp"
#include "dns/load_table.hpp"
#include "dns/metrics.hpp"
#include "dns/order.hpp"
#include "dns/server.hpp"
#include "health/checker.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "registry/catalog.hpp"
#include "server/agent_local_store.hpp"
#include "server/ca_keeper.hpp"
#include "server/config.hpp"
#include "server/config_services.hpp"
#include "server/local_replicator.hpp"
#include "server/own_node.hpp"
#include "server/raft_replicator.hpp"
#include "storage/db.hpp"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0"
#endif

namespace cairn::server {
namespace {

http::AclOptions aclOptions(const AclConfig& c) {
  http::AclOptions o;
  o.enabled = c.enabled;
  o.defaultAccess =
      c.defaultPolicy == "deny" ? registry::acl::Access::kDeny : registry::acl::Access::kWrite;
  o.initialManagement = c.initialManagement;
  return o;
}

// DNS answers with the anonymous token's rights. The filtered view is kept
// for as long as the catalog view is the same (one filtering per change,
// not per query).
dns::ViewFilter anonymousDnsFilter(http::AclOptions opts) {
  struct Cache {
    std::mutex mu;
    registry::ViewPtr in, out;
  };
  auto cache = std::make_shared<Cache>();
  return [opts, cache](const registry::ViewPtr& v) {
    {
      std::lock_guard lock(cache->mu);
      if (cache->in == v) return cache->out;
    }
    registry::ViewPtr out = http::anonymousView(v, opts);
    std::lock_guard lock(cache->mu);
    cache->in = v;
    cache->out = out;
    return out;
  };
}

void notifySystemd(const char* state) {
#ifdef CAIRN_HAVE_SYSTEMD
  sd_notify(0, state);
#else
  (void)state;
#endif
}

std::string newUuid() {
  std::random_device rd;
  std::mt19937_64 g((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t a = g(), b = g();
  char buf[37];
  snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
           static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0x0fff) | 0x4000,
           static_cast<unsigned>((b >> 48) & 0x3fff) | 0x8000,
           static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

Result<uint64_t> proposeSync(registry::Replicator& r, const registry::Command& cmd) {
  std::promise<Result<uint64_t>> p;
  auto f = p.get_future();
  r.propose(registry::encodeCommand(cmd),
            [&p](Result<uint64_t> res) { p.set_value(std::move(res)); });
  return f.get();
}

// Proposes every command at once (the replicator takes them in one batch:
// one Raft append), then waits for all; the first failure, if any.
Status proposeAll(registry::Replicator& r, const std::vector<registry::Command>& cmds) {
  std::vector<std::promise<Result<uint64_t>>> done(cmds.size());
  std::vector<std::future<Result<uint64_t>>> results;
  results.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    results.push_back(done[i].get_future());
    r.propose(registry::encodeCommand(cmds[i]),
              [&p = done[i]](Result<uint64_t> res) { p.set_value(std::move(res)); });
  }
  Status first;
  for (auto& f : results)
    if (auto res = f.get(); !res.ok() && first.ok()) first = res.error();
  return first;
}

class Agent {
 public:
  Agent(std::vector<std::string> args, ParsedAgentArgs parsed)
      : args_(std::move(args)), cfg_(std::move(parsed.config)), sources_(parsed.sources) {}

  int run() {
    auto logger = log::get("agent");
    if (cfg_.dataDir.empty()) {
      char tmpl[] = "/tmp/cairn-dev-XXXXXX";
      if (!mkdtemp(tmpl)) {
        std::cerr << "cairn agent: cannot create a temp data dir\n";
        return 1;
      }
      cfg_.dataDir = tmpl;
      tempDir_ = true;
    }
    std::error_code ec;
    std::filesystem::create_directories(cfg_.dataDir, ec);
    auto db = storage::Db::open(cfg_.dataDir);
    if (!db.ok()) return fail(db.error().message);
    db_ = std::move(*db);
    if (cfg_.server && !cfg_.dev) {
      if (Status st = resumeInterruptedInstall(*db_, cfg_.dataDir); !st.ok())
        return fail(st.error().message);
    }
    auto cat = registry::Catalog::open(db_->catalogStore());
    if (!cat.ok()) return fail(cat.error().message);
    catalog_ = std::move(*cat);
    auto nodeId = db_->getMeta("node_id");
    if (!nodeId.ok()) return fail(nodeId.error().message);
    if (cfg_.nodeId.empty()) cfg_.nodeId = nodeId->empty() ? newUuid() : *nodeId;
    if (*nodeId != cfg_.nodeId) {
      Status st = db_->putMeta("node_id", cfg_.nodeId);
      if (!st.ok()) return fail(st.error().message);
    }
    // Bad service definitions in the config stop the start, before anything runs.
    if (auto defs = decodeConfigDefinitions(cfg_.services, cfg_.checks, cfg_.nodeName); !defs.ok())
      return fail(defs.error().message);
    else if (Status st = refuseScriptChecks(*defs, cfg_.enableScriptChecks); !st.ok())
      return fail(st.error().message);
    auto local = AgentLocalStore::open(*db_, cfg_.nodeName);
    if (!local.ok()) return fail(local.error().message);
    localState_ = std::move(*local);
    if (Status st = startReplication(); !st.ok()) return fail(st.error().message);
    if (local_) {
      // One server: writes are immediate, so the node is there before HTTP opens.
      if (Status st = registerSelf(); !st.ok()) return fail(st.error().message);
      if (Status st = syncConfigDefinitions(); !st.ok()) return fail(st.error().message);
    }
    // A cluster may not have a leader yet: the keeper registers in the
    // background, and again whenever the node goes missing (a restore), or
    // what was registered through this server's agent API.
    ownNode_ = std::make_unique<OwnNodeKeeper>(
        catalog_->watches(), OwnNode{cfg_.nodeName, cfg_.nodeId, cfg_.advertiseAddr},
        [this] {
          Status st = registerSelf();
          return st.ok() ? syncConfigDefinitions() : st;
        },
        OwnNodeKeeper::Options{
            .registered = local_ != nullptr,
            .intact = [this](const registry::View& v) { return localState_->intact(v); },
            .repair = [this] { return repairLocalState(); }});

    http::AgentIdentity id{cfg_.nodeName,      cfg_.nodeId,     cfg_.datacenter,
                           cfg_.advertiseAddr, cfg_.serverPort, CAIRN_VERSION};
    loads_ = std::make_unique<dns::LoadTable>();
    // Load reports taken by other servers (through the leader).
    replicator_->setLoadSink([loads = loads_.get()](const registry::Replicator::LoadReport& r) {
      loads->report(r.node, r.serviceId, r.load, std::chrono::milliseconds(r.ttlMs));
    });
    http::ApiOptions apiOpts;
    // After a graceful leave the agent stops, as Consul's does: the same path
    // as SIGTERM, a moment later so that the answer reaches the caller.
    apiOpts.onLeave = [] {
      std::thread([] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        kill(getpid(), SIGTERM);
      }).detach();
    };
    apiOpts.loads = loads_.get();
    apiOpts.agentLocal = localState_.get();
    apiOpts.enableScriptChecks = cfg_.enableScriptChecks;
    apiOpts.acl = aclOptions(cfg_.acl);
    int64_t leafTtl = std::chrono::duration_cast<std::chrono::seconds>(
                          parseDuration(cfg_.connectLeafCertTtl).value())
                          .count();
    apiOpts.connect.leafCertTtlSeconds = leafTtl;
    apiOpts.connect.defaultAllow = cfg_.connectDefaultIntentionPolicy == "allow";
    caKeeper_ = std::make_unique<CaKeeper>(catalog_->watches(), *replicator_, leafTtl);
    dnsMetrics_ = std::make_unique<dns::DnsMetrics>();
    healthMetrics_ = std::make_unique<health::CheckerMetrics>();
    if (Status st = startChecker(apiOpts); !st.ok()) return fail(st.error().message);
    apiOpts.moreMetrics = [this](std::string& out) {
      dnsMetrics_->render(out);
      healthMetrics_->render(out);
      std::lock_guard lock(checkerMu_);
      if (checker_) checker_->renderMetrics(out);
    };
    api_ = std::make_unique<http::Api>(catalog_->watches(), *replicator_, id, apiOpts);
    if (Status st = startHttp(); !st.ok()) return fail(st.error().message);
    if (Status st = startDns(); !st.ok()) return fail(st.error().message);
    logger->info(
        "cairn agent running node={} datacenter={} data_dir={} http={} https={} "
        "applied_index={}",
        cfg_.nodeName, cfg_.datacenter, cfg_.dataDir, http_ ? http_->port() : -1,
        https_ ? https_->port() : -1, catalog_->appliedIndex());
    // A machine-readable line for scripts and tests that start many agents.
    std::cout << "cairn: listening";
    if (http_) std::cout << " http=" << cfg_.clientAddr << ":" << http_->port();
    if (https_) std::cout << " https=" << cfg_.clientAddr << ":" << https_->port();
    if (dns_) std::cout << " dns=" << cfg_.clientAddr << ":" << dns_->port();
    if (raft_) std::cout << " server=" << cfg_.advertiseAddr << ":" << serverPort_;
    std::cout << std::endl;
    notifySystemd("READY=1");
    waitForSignals();
    shutdown();
    return 0;
  }

 private:
  int fail(const std::string& msg) {
    std::cerr << "cairn agent: " << msg << "\n";
    shutdown();
    return 1;
  }

  // The API on the client address: plain HTTP (httpPort, -1: off) and/or
  // HTTPS (httpsPort, -1: off) with tls.https over tls.defaults.
  Status startHttp() {
    http::ServerConfig hc;
    hc.address = cfg_.clientAddr;
    hc.threads = cfg_.httpThreads;
    hc.maxBodyBytes = cfg_.httpMaxBodyBytes;
    hc.maxSnapshotBodyBytes = cfg_.httpMaxSnapshotBytes;
    hc.readTimeout = parseDuration(cfg_.httpReadTimeout).value();
    if (cfg_.httpPort >= 0) {
      hc.port = static_cast<uint16_t>(cfg_.httpPort);
      auto hs = http::HttpServer::create(hc, *api_);
      if (!hs.ok()) return hs.error();
      http_ = std::move(*hs);
    }
    if (cfg_.httpsPort >= 0) {
      auto t = httpsTls(cfg_);
      if (!t.ok()) return t.error();
      hc.port = static_cast<uint16_t>(cfg_.httpsPort);
      hc.tls = std::move(*t);
      auto hs = http::HttpServer::create(hc, *api_);
      if (!hs.ok()) return hs.error();
      https_ = std::move(*hs);
    }
    return {};
  }

  // DNS on the client address (dnsPort -1: off). Order, workers and seed
  // come from CAIRN_DNS_* until the config has keys for them.
  Status startDns() {
    if (cfg_.dnsPort < 0) return {};
    dns::DnsOptions o;
    if (cfg_.acl.enabled) o.viewFilter = anonymousDnsFilter(aclOptions(cfg_.acl));
    o.address = cfg_.clientAddr;
    o.port = cfg_.dnsPort;
    o.zone = {cfg_.domain, cfg_.altDomain, cfg_.datacenter};
    o.nodeName = cfg_.nodeName;
    o.recursors = cfg_.recursors;
    o.nodeTtl = cfg_.dns.nodeTtl;
    o.serviceTtl = cfg_.dns.serviceTtl;
    o.onlyPassing = cfg_.dns.onlyPassing;
    o.udpAnswerLimit = cfg_.dns.udpAnswerLimit;
    o.aRecordLimit = cfg_.dns.aRecordLimit;
    o.nodeMetaTxt = cfg_.dns.enableAdditionalNodeMetaTxt;
    o.order = dns::parseOrder(cfg_.dns.order).value_or(dns::Order::kWeighted);
    o.udpWorkers = cfg_.dns.workers;
    o.recursorTimeout = parseDuration(cfg_.dns.recursorTimeout).value();
    const auto& rl = cfg_.dns.rateLimit;
    o.rateLimit.enabled = rl.enabled.value_or(!cfg_.dev);
    o.rateLimit.responsesPerSecond = static_cast<uint32_t>(rl.responsesPerSecond);
    o.rateLimit.burst = static_cast<uint32_t>(rl.burst);
    o.rateLimit.slip = static_cast<uint32_t>(rl.slip);
    o.rateLimit.ipv4PrefixLength = static_cast<uint8_t>(rl.ipv4PrefixLength);
    o.rateLimit.ipv6PrefixLength = static_cast<uint8_t>(rl.ipv6PrefixLength);
    if (rl.exempt) o.rateLimit.exempt = *rl.exempt;
    if (cfg_.dns.allowRecursionFrom) o.allowRecursionFrom = *cfg_.dns.allowRecursionFrom;
    o.maxTcpConnectionsPerClient = cfg_.dns.maxTcpConnectionsPerClient;
    if (Status st = dns::applyEnvironment(o); !st.ok()) return st;
    auto s = dns::DnsServer::create(o, catalog_->watches(), loads_.get(), dnsMetrics_.get());
    if (!s.ok()) return s.error();
    dns_ = std::move(*s);
    return {};
  }

  // Health checks. A one-server agent runs them all; in a Raft cluster each
  // runs on one live server (rendezvous over the leader's published list),
  // and TTL reports taken here go to the server running their check.
  Status startChecker(http::ApiOptions& apiOpts) {
    health::CheckerConfig hc;
    hc.enableScriptChecks = cfg_.enableScriptChecks;
    hc.metrics = healthMetrics_.get();
    hc.checkUpdateInterval = parseDuration(cfg_.checkUpdateInterval).value();
    hc.probeClose = health::parseProbeClose(cfg_.checkClose).value();  // validated
    hc.probeIoUring = cfg_.checkIoUring;
    hc.runGranularity = std::chrono::duration_cast<std::chrono::milliseconds>(
        parseDuration(cfg_.checkRunGranularity).value());  // validated
    auto c = health::Checker::create(std::move(hc), catalog_->watches(), *replicator_);
    if (!c.ok()) return c.error();
    checker_ = std::move(*c);
    apiOpts.onTtlReport = [c = checker_.get()](const registry::CheckStatusCommand& cmd) {
      c->ttlReported({cmd.node, cmd.checkId, cmd.status, cmd.output}, false);
    };
    replicator_->setTtlSink([c = checker_.get()](const registry::Replicator::TtlReport& r) {
      c->ttlReported(r, true);
    });
    return {};
  }

  // `-dev` uses the one-server log; `-server` runs Raft over the server port.
  Status startReplication() {
    if (cfg_.dev || !cfg_.server) {
      std::string advertise = cfg_.advertiseAddr + ":" + std::to_string(cfg_.serverPort);
      auto rep = LocalReplicator::create(*db_, *catalog_, advertise);
      if (!rep.ok()) return rep.error();
      local_ = std::move(*rep);
      local_->setNodeName(cfg_.nodeName);
      replicator_ = local_.get();
      return {};
    }
    RaftReplicatorConfig rc;
    rc.raftId = raftIdFor(cfg_.nodeId);
    rc.nodeName = cfg_.nodeName;
    rc.advertise = cfg_.advertiseAddr;
    if (cfg_.serverPort != 0) rc.advertise += ":" + std::to_string(cfg_.serverPort);
    rc.bindAddress = cfg_.bindAddr;
    rc.port = static_cast<uint16_t>(cfg_.serverPort);
    rc.retryJoin = cfg_.retryJoin;
    rc.bootstrapExpect = cfg_.bootstrapExpect;
    rc.snapshotEvery = cfg_.raftSnapshotThreshold;
    rc.keepAfterSnapshot = cfg_.raftTrailingLogs;
    rc.snapshotDir = cfg_.dataDir;
    auto tls = serverTls(cfg_);
    if (!tls.ok()) return tls.error();
    rc.tls = std::move(*tls);
    auto hasFiles = [](const TlsStanza& s) { return s.caFile || s.certFile || s.keyFile; };
    if (!rc.tls && (hasFiles(cfg_.tls.defaults) || hasFiles(cfg_.tls.internalRpc)))
      log::get("agent")->warn(
          "tls files are set but verify_incoming and verify_outgoing are off: connections "
          "between servers are plain TCP");
    auto rep = RaftReplicator::create(rc, *db_, *catalog_);
    if (!rep.ok()) return rep.error();
    if (rc.tls)
      log::get("agent")->info("servers connect with mutual TLS ca_file={} cert_file={}",
                              rc.tls->caFile, rc.tls->certFile);
    raft_ = std::move(*rep);
    replicator_ = raft_.get();
    serverPort_ = raft_->port();
    return {};
  }

  Status registerSelf() {
    registry::RegisterCommand cmd;
    cmd.node.name = cfg_.nodeName;
    cmd.node.id = cfg_.nodeId;
    cmd.node.address = cfg_.advertiseAddr;
    cmd.node.datacenter = cfg_.datacenter;
    cmd.node.taggedAddresses = {{"lan", cfg_.advertiseAddr}, {"wan", cfg_.advertiseAddr}};
    cmd.node.meta = {{"cairn-version", CAIRN_VERSION}};
    registry::Check serf;
    serf.checkId = std::string(kOwnNodeCheckId);
    serf.name = "Serf Health Status";
    serf.status = registry::HealthStatus::kPassing;
    serf.output = "Agent alive and reachable";
    cmd.checks.push_back(serf);
    auto r = proposeSync(*replicator_, cmd);
    if (!r.ok()) return r.error();
    return {};
  }

  // Registers the config's services and checks, and deregisters the ones
  // that an earlier config had and this one does not. Called by the own-node
  // keeper's thread and by reload().
  Status syncConfigDefinitions() {
    std::lock_guard lock(configMu_);
    auto defs = decodeConfigDefinitions(cfg_.services, cfg_.checks, cfg_.nodeName);
    if (!defs.ok()) return defs.error();
    if (Status st = refuseScriptChecks(*defs, cfg_.enableScriptChecks); !st.ok()) return st;
    for (const auto& cmd : defs->registrations) {
      auto r = proposeSync(*replicator_, cmd);
      if (!r.ok()) return r.error();
    }
    auto oldSvc = db_->getMeta("config_services");
    auto oldChk = db_->getMeta("config_checks");
    if (!oldSvc.ok()) return oldSvc.error();
    if (!oldChk.ok()) return oldChk.error();
    for (const auto& id : decodeIdSet(*oldSvc))
      if (!defs->serviceIds.count(id))
        if (auto r = proposeSync(*replicator_, registry::DeregisterCommand{cfg_.nodeName, id, ""});
            !r.ok())
          return r.error();
    for (const auto& id : decodeIdSet(*oldChk))
      if (!defs->checkIds.count(id))
        if (auto r = proposeSync(*replicator_, registry::DeregisterCommand{cfg_.nodeName, "", id});
            !r.ok())
          return r.error();
    if (Status st = db_->putMeta("config_services", encodeIdSet(defs->serviceIds)); !st.ok())
      return st;
    return db_->putMeta("config_checks", encodeIdSet(defs->checkIds));
  }

  // Brings back what the catalog lost of the agent's local state, in one
  // batch of writes. Called by the own-node keeper's thread.
  Status repairLocalState() {
    LocalRepair plan = localState_->plan(*catalog_->watches().view());
    localState_->forget(plan);
    if (plan.writes.empty()) return {};
    if (Status st = proposeAll(*replicator_, plan.writes); !st.ok()) return st;
    log::get("agent")->info("agent local state: {} writes to the catalog (services {}, checks {})",
                            plan.writes.size(), localState_->services(), localState_->checks());
    return {};
  }

  void reload() {
    auto logger = log::get("agent");
    auto parsed = parseAgentArgs(args_);
    if (!parsed.ok()) {
      logger->error("reload failed, keeping the running config: {}", parsed.error().message);
      return;
    }
    cfg_.logLevel = parsed->config.logLevel;
    log::setLevel(cfg_.logLevel);
    {
      std::lock_guard lock(configMu_);
      cfg_.services = parsed->config.services;
      cfg_.checks = parsed->config.checks;
    }
    Status st = syncConfigDefinitions();
    if (!st.ok())
      logger->error("reload: {}", st.error().message);
    else
      logger->info("reloaded log_level={} services={} checks={}", cfg_.logLevel,
                   cfg_.services.size(), cfg_.checks.size());
    // The HTTPS certificate and key (renewed in place, at the same paths).
    if (https_) {
      if (Status tst = https_->reloadTls(); !tst.ok())
        logger->error("reload: HTTPS certificate not reloaded, the old one stays in use: {}",
                      tst.error().message);
      else
        logger->info("reloaded the HTTPS certificate");
    }
  }

  void waitForSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    while (true) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) {
        reload();
        continue;
      }
      log::get("agent")->info("caught signal={}, shutting down", sig);
      return;
    }
  }

  void shutdown() {
    notifySystemd("STOPPING=1");
    dns_.reset();
    // Stop taking new requests, finish the writes already accepted, answer
    // them, then close everything.
    for (auto* h : {http_.get(), https_.get()})
      if (h) h->stopAccepting();
    if (ownNode_) ownNode_->stop();
    if (replicator_) replicator_->setTtlSink(nullptr);
    {
      std::lock_guard lock(checkerMu_);
      checker_.reset();  // before the replicator it proposes to
    }
    caKeeper_.reset();
    if (local_) local_->shutdown();
    if (raft_) raft_->shutdown();
    ownNode_.reset();  // its proposal in flight, if any, has failed
    // Snapshot requests answer before the server stops (their work runs on
    // the Api's own thread).
    if (api_) api_->stopBackgroundWork();
    for (auto* h : {http_.get(), https_.get()})
      if (h) h->waitForWrites(std::chrono::seconds(5));
    for (auto* h : {http_.get(), https_.get()})
      if (h) h->stop();
    http_.reset();
    https_.reset();
    api_.reset();
    dnsMetrics_.reset();
    loads_.reset();
    replicator_ = nullptr;
    local_.reset();
    raft_.reset();
    catalog_.reset();
    if (localState_) localState_->flush();
    localState_.reset();  // after the Api and the keeper that use it
    if (db_) (void)db_->syncCatalog();
    db_.reset();
    if (tempDir_) {
      std::error_code ec;
      std::filesystem::remove_all(cfg_.dataDir, ec);
    }
  }

  std::vector<std::string> args_;
  AgentConfig cfg_;
  ConfigSources sources_;
  bool tempDir_ = false;
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<registry::Catalog> catalog_;
  std::unique_ptr<LocalReplicator> local_;
  std::unique_ptr<RaftReplicator> raft_;
  registry::Replicator* replicator_ = nullptr;
  uint16_t serverPort_ = 0;
  // What this server's agent API registered and deregistered (used by the
  // Api and the keeper; reset before the Db).
  std::unique_ptr<AgentLocalStore> localState_;
  // Registers this server's node, and again when it goes missing; stops
  // before the replicator it proposes to.
  std::unique_ptr<OwnNodeKeeper> ownNode_;
  std::mutex configMu_;  // cfg_.services and cfg_.checks, between reload() and the keeper
  std::unique_ptr<dns::LoadTable> loads_;
  // The DNS counters shown at /metrics; outlive both the DNS server and the Api.
  std::unique_ptr<dns::DnsMetrics> dnsMetrics_;
  // The checker's probe counters and lateness, shown at /metrics; outlive
  // the checker and the Api.
  std::unique_ptr<health::CheckerMetrics> healthMetrics_;
  std::mutex checkerMu_;  // guards checker_ against the metrics page at shutdown
  std::unique_ptr<health::Checker> checker_;
  std::unique_ptr<CaKeeper> caKeeper_;  // proposes to the replicator: stops before it
  std::unique_ptr<dns::DnsServer> dns_;
  std::unique_ptr<http::Api> api_;
  std::unique_ptr<http::HttpServer> http_;   // null when ports.http is -1
  std::unique_ptr<http::HttpServer> https_;  // null unless ports.https is set
};

}  // namespace

int runAgent(const std::vector<std::string>& args) {
  // Signals are taken by sigwait in this thread only: block them before any
  // thread starts so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every open connection and blocking query holds a descriptor.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  auto parsed = parseAgentArgs(args);
  if (!parsed.ok()) {
    std::cerr << "cairn agent: " << parsed.error().message << "\n";
    return 1;
  }
  if (parsed->help) {
    std::cout << parsed->helpText;
    return 0;
  }
  if (!log::setLevel(parsed->config.logLevel)) {
    std::cerr << "cairn agent: bad log level\n";
    return 1;
  }
  log::setJson(parsed->config.logJson);
  Agent agent(args, std::move(parsed).value());
  return agent.run();
}

}  // namespace cairn::server
