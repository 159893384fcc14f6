#include "http/api.hpp"

#include <algorithm>
#include <charconv>

#include "common/duration.hpp"
#include "dns/load_table.hpp"
#include "http/leaf_cache.hpp"

namespace cairn::http {

namespace {

// The ACL caller of the request being handled on this thread (null with
// ACLs off). handle() sets it around the handler, which runs synchronously;
// query() and write() read it there and capture what they need later.
struct CallContext {
  const Caller* caller = nullptr;
  std::string secret;
  bool agentRoute = false;
  bool afterBarrier = false;  // the read barrier was passed for this request
};
thread_local const CallContext* tCall = nullptr;

struct CallScope {
  explicit CallScope(const CallContext* c) { tCall = c; }
  ~CallScope() { tCall = nullptr; }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;
};

}  // namespace

Response errorResponse(const Error& e) {
  int status = 500;
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      status = 400;
      break;
    case ErrorCode::kNotFound:
      status = 404;
      break;
    case ErrorCode::kPermissionDenied:
      status = 403;
      break;
    default:
      status = 500;
  }
  return Response::text(status, e.message);
}

Api::Api(registry::WatchHub& hub, registry::Replicator& replicator, AgentIdentity self,
         ApiOptions opts)
    : hub_(hub),
      replicator_(replicator),
      self_(std::move(self)),
      opts_(opts),
      rng_(opts.jitterSeed ? opts.jitterSeed
                           : static_cast<uint64_t>(
                                 std::chrono::steady_clock::now().time_since_epoch().count())),
      ownLoads_(opts.loads ? nullptr : std::make_shared<dns::LoadTable>()),
      loads_(opts.loads ? opts.loads : ownLoads_.get()),
      leaves_(std::make_shared<LeafCache>()) {
  using S = registry::HealthStatus;
  const std::vector<std::string> get{"GET"}, put{"PUT"}, putGet{"PUT", "GET"}, del{"DELETE"},
      post{"POST", "PUT"}, crud{"GET", "PUT", "DELETE"};
  routes_ = {
      {"/v1/agent/self", false, get, "/v1/agent/self", &Api::agentSelf},
      {"/v1/agent/members", false, get, "/v1/agent/members", &Api::agentMembers},
      {"/v1/agent/services", false, get, "/v1/agent/services", &Api::agentServices},
      {"/v1/agent/service/register", false, put, "/v1/agent/service/register",
       &Api::agentServiceRegister},
      {"/v1/agent/service/deregister/", true, putGet, "/v1/agent/service/deregister/:id",
       &Api::agentServiceDeregister},
      {"/v1/agent/service/maintenance/", true, put, "/v1/agent/service/maintenance/:id",
       &Api::agentServiceMaintenance},
      {"/v1/agent/maintenance", false, put, "/v1/agent/maintenance", &Api::agentMaintenance},
      {"/v1/agent/service/load/", true, put, "/v1/agent/service/load/:id", &Api::agentServiceLoad},
      {"/v1/agent/service/", true, get, "/v1/agent/service/:id", &Api::agentService},
      {"/v1/agent/checks", false, get, "/v1/agent/checks", &Api::agentChecks},
      {"/v1/agent/check/register", false, put, "/v1/agent/check/register",
       &Api::agentCheckRegister},
      {"/v1/agent/check/deregister/", true, putGet, "/v1/agent/check/deregister/:id",
       &Api::agentCheckDeregister},
      {"/v1/agent/check/update/", true, put, "/v1/agent/check/update/:id", &Api::agentCheckUpdate},
      {"/v1/catalog/register", false, put, "/v1/catalog/register", &Api::catalogRegister},
      {"/v1/catalog/deregister", false, put, "/v1/catalog/deregister", &Api::catalogDeregister},
      {"/v1/catalog/services", false, get, "/v1/catalog/services", &Api::catalogServices},
      {"/v1/catalog/service/", true, get, "/v1/catalog/service/:name", &Api::catalogService},
      {"/v1/catalog/nodes", false, get, "/v1/catalog/nodes", &Api::catalogNodes},
      {"/v1/catalog/node/", true, get, "/v1/catalog/node/:node", &Api::catalogNode},
      {"/v1/catalog/datacenters", false, get, "/v1/catalog/datacenters", &Api::catalogDatacenters},
      {"/v1/health/service/", true, get, "/v1/health/service/:name", &Api::healthService},
      {"/v1/health/checks/", true, get, "/v1/health/checks/:name", &Api::healthChecks},
      {"/v1/health/node/", true, get, "/v1/health/node/:node", &Api::healthNode},
      {"/v1/health/state/", true, get, "/v1/health/state/:state", &Api::healthState},
      {"/v1/status/leader", false, get, "/v1/status/leader", &Api::statusLeader},
      {"/v1/status/peers", false, get, "/v1/status/peers", &Api::statusPeers},
      {"/v1/operator/raft/configuration", false, get, "/v1/operator/raft/configuration",
       &Api::operatorRaftConfiguration},
      {"/v1/operator/raft/peer", false, del, "/v1/operator/raft/peer",
       &Api::operatorRaftPeerDelete},
      {"/v1/operator/raft/transfer-leader", false, post, "/v1/operator/raft/transfer-leader",
       &Api::operatorTransferLeader},
      {"/v1/operator/autopilot/health", false, get, "/v1/operator/autopilot/health",
       &Api::operatorAutopilotHealth},
      {"/v1/agent/join/", true, put, "/v1/agent/join/:address", &Api::agentJoin},
      {"/v1/agent/leave", false, put, "/v1/agent/leave", &Api::agentLeave},
      {"/v1/snapshot", false, putGet, "/v1/snapshot", &Api::snapshot},
      {"/v1/acl/bootstrap", false, put, "/v1/acl/bootstrap", &Api::aclBootstrap},
      {"/v1/acl/policy", false, put, "/v1/acl/policy", &Api::aclPolicyCreate},
      {"/v1/acl/policy/name/", true, get, "/v1/acl/policy/name/:name", &Api::aclPolicyByName},
      {"/v1/acl/policy/", true, {"GET", "PUT", "DELETE"}, "/v1/acl/policy/:id", &Api::aclPolicy},
      {"/v1/acl/policies", false, get, "/v1/acl/policies", &Api::aclPolicies},
      {"/v1/acl/token", false, put, "/v1/acl/token", &Api::aclTokenCreate},
      {"/v1/acl/token/self", false, get, "/v1/acl/token/self", &Api::aclTokenSelf},
      {"/v1/acl/token/", true, {"GET", "PUT", "DELETE"}, "/v1/acl/token/:id", &Api::aclToken},
      {"/v1/acl/tokens", false, get, "/v1/acl/tokens", &Api::aclTokens},
      // The mesh (connect_endpoints.cpp, intention_endpoints.cpp).
      {"/v1/agent/connect/ca/roots", false, get, "/v1/agent/connect/ca/roots",
       &Api::connectCaRoots},
      {"/v1/connect/ca/roots", false, get, "/v1/connect/ca/roots", &Api::connectCaRoots},
      {"/v1/agent/connect/ca/leaf/", true, get, "/v1/agent/connect/ca/leaf/:service",
       &Api::connectCaLeaf},
      {"/v1/agent/connect/authorize", false, post, "/v1/agent/connect/authorize",
       &Api::connectAuthorize},
      {"/v1/connect/ca/configuration", false, putGet, "/v1/connect/ca/configuration",
       &Api::connectCaConfiguration},
      {"/v1/connect/ca/rotate", false, post, "/v1/connect/ca/rotate", &Api::connectCaRotate},
      {"/v1/health/connect/", true, get, "/v1/health/connect/:service", &Api::healthConnect},
      {"/v1/connect/intentions/exact", false, crud, "/v1/connect/intentions/exact",
       &Api::intentionExact},
      {"/v1/connect/intentions/check", false, get, "/v1/connect/intentions/check",
       &Api::intentionCheck},
      {"/v1/connect/intentions",
       false,
       {"GET", "POST"},
       "/v1/connect/intentions",
       &Api::intentions},
      {"/v1/connect/intentions/", true, crud, "/v1/connect/intentions/:id", &Api::intentionById},
      {"/metrics", false, get, "/metrics", &Api::metricsPage},
      {"/v1/agent/metrics", false, get, "/v1/agent/metrics", &Api::metricsPage},
  };
  // TTL updates: one route per status, sharing a handler.
  struct Ttl {
    const char* verb;
    S status;
  };
  for (auto [verb, status] :
       {Ttl{"pass", S::kPassing}, Ttl{"warn", S::kWarning}, Ttl{"fail", S::kCritical}}) {
    (void)status;
    routes_.push_back({std::string("/v1/agent/check/") + verb + "/", true, putGet,
                       std::string("/v1/agent/check/") + verb + "/:id", nullptr});
  }
}

const Api::Route* Api::match(const std::string& path, std::string& arg) const {
  for (const auto& r : routes_) {
    if (!r.takesArg) {
      if (path == r.path) return &r;
      continue;
    }
    if (path.size() > r.path.size() && path.compare(0, r.path.size(), r.path) == 0) {
      arg = path.substr(r.path.size());
      return &r;
    }
  }
  return nullptr;
}

Outcome Api::handle(const Request& req) {
  std::string arg;
  const Route* r = match(req.path, arg);
  if (!r)
    return Response::text(404, "Invalid URL path: not a recognized HTTP API endpoint: " + req.path);
  if (std::find(r->methods.begin(), r->methods.end(), req.method) == r->methods.end()) {
    std::string allowed;
    for (const auto& m : r->methods) allowed += (allowed.empty() ? "" : ", ") + m;
    auto res = Response::text(
        405, "method " + req.method + " not allowed on " + r->name + "; use " + allowed);
    res.headers.emplace_back("Allow", allowed);
    return res;
  }
  if (req.flag("stale") && req.flag("consistent"))
    return Response::text(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
  if (const auto* dc = req.param("dc"); dc && !dc->empty() && *dc != self_.datacenter)
    return Response::text(500, "No path to datacenter");
  if (arg.find('/') != std::string::npos)
    return Response::text(404, "Invalid URL path: unexpected '/' in " + r->name);
  if (!opts_.acl.enabled) return dispatch(*r, req, arg);
  // ACLs: resolve the token against the current view (a deleted token fails
  // here at once), check what the route needs, and leave the caller for
  // query() (filtering) and write() (the command's permissions).
  std::string secret = requestToken(req);
  auto view = hub_.view();
  auto caller = resolveCaller(*view, opts_.acl, secret);
  if (!caller.ok() && !req.flag("stale") && replicator_.readsNeedBarrier()) {
    // Not known here yet may still be known: a token created through
    // another server a moment ago is committed before this request but
    // perhaps not applied here. Pass the read barrier (as a default read
    // does) and look again; only a token still unknown then is refused.
    return Gated{
        [this](std::function<void(Status)> open) { replicator_.readBarrier(std::move(open)); },
        [this, r, arg, secret](const Request& req, const Status& opened) -> Outcome {
          if (!opened.ok()) return errorResponse(opened.error());
          auto v = hub_.view();
          auto c = resolveCaller(*v, opts_.acl, secret);
          return dispatchAs(*r, req, arg, c, secret, *v, true);
        }};
  }
  return dispatchAs(*r, req, arg, caller, std::move(secret), *view, false);
}

Outcome Api::dispatchAs(const Route& r, const Request& req, const std::string& arg,
                        const Result<Caller>& caller, std::string secret, const View& view,
                        bool afterBarrier) {
  if (!caller.ok()) return errorResponse(caller.error());
  if (auto d = routeDenied(*caller, r.name, req.method, arg, view, self_.nodeName))
    return deniedResponse(*caller, *d);
  CallContext ctx;
  ctx.caller = &*caller;
  ctx.secret = std::move(secret);
  ctx.agentRoute = r.name.starts_with("/v1/agent/");
  ctx.afterBarrier = afterBarrier;
  CallScope scope(&ctx);
  return dispatch(r, req, arg);
}

std::optional<Response> Api::aclDenied(const registry::Check& check) const {
  if (!tCall) return std::nullopt;
  if (auto d = checkWriteDenied(*tCall->caller, check)) return deniedResponse(*tCall->caller, *d);
  return std::nullopt;
}

Outcome Api::dispatch(const Route& route, const Request& req, const std::string& arg) {
  const Route* r = &route;
  if (r->fn) return (this->*(r->fn))(req, arg);
  // The TTL routes: the verb is the path segment after /v1/agent/check/.
  std::string verb = r->path.substr(std::string("/v1/agent/check/").size());
  verb.pop_back();
  auto status = verb == "pass"   ? registry::HealthStatus::kPassing
                : verb == "warn" ? registry::HealthStatus::kWarning
                                 : registry::HealthStatus::kCritical;
  return agentCheckTtl(req, arg, status);
}

void Api::observe(const Request& req, int status, std::chrono::microseconds latency) {
  std::string arg;
  const Route* r = match(req.path, arg);
  metrics_.observe(r ? r->name : "other", status, latency);
}

void Api::addIndexHeaders(Response& r, uint64_t index) const {
  r.headers.emplace_back("X-Consul-Index", std::to_string(std::max<uint64_t>(index, 1)));
  bool known = !replicator_.leader().empty();
  r.headers.emplace_back("X-Consul-KnownLeader", known ? "true" : "false");
  r.headers.emplace_back("X-Consul-LastContact", std::to_string(replicator_.lastContactMs()));
}

Outcome Api::query(const Request& req, std::vector<std::string> keys,
                   std::function<uint64_t(const View&)> indexOf,
                   std::function<Response(const View&)> render) {
  if (tCall) {
    // Every read shows only what the token may see, resolved again at each
    // answer (a blocking query may answer after the token is gone).
    render = [acl = opts_.acl, secret = tCall->secret,
              inner = std::move(render)](const View& v) -> Response {
      auto caller = resolveCaller(v, acl, secret);
      if (!caller.ok()) return errorResponse(caller.error());
      bool removed = false;
      auto filtered = filterView(v, caller->authz, removed);
      Response r = inner(filtered ? *filtered : v);
      if (removed) r.headers.emplace_back("X-Consul-Results-Filtered-By-ACLs", "true");
      return r;
    };
  }
  const std::string* indexParam = req.param("index");
  uint64_t minIndex = 0;
  if (indexParam && !indexParam->empty()) {
    auto [p, ec] =
        std::from_chars(indexParam->data(), indexParam->data() + indexParam->size(), minIndex);
    if (ec != std::errc() || p != indexParam->data() + indexParam->size())
      return Response::text(400, "Invalid index: \"" + *indexParam + "\" is not a number");
  }
  auto wait = opts_.defaultWait;
  if (const auto* w = req.param("wait")) {
    auto d = parseDuration(*w);
    if (!d.ok()) return Response::text(400, "Invalid wait time: " + d.error().message);
    wait = std::min(*d, opts_.maxWait);
  }
  bool barrier = minIndex == 0 && !req.flag("stale") && replicator_.readsNeedBarrier() &&
                 !(tCall && tCall->afterBarrier);
  if (minIndex == 0 && !barrier) {
    // The hot path: answer from the current view, no callbacks kept.
    auto view = hub_.view();
    Response r = render(*view);
    addIndexHeaders(r, indexOf(*view));
    return r;
  }
  auto answer = [this, indexOf, render](const View& v) {
    Response r = render(v);
    addIndexHeaders(r, indexOf(v));
    return r;
  };
  if (minIndex == 0) {
    // Default and ?consistent reads on a cluster see every write committed
    // before they arrived (ReadIndex); ?stale answers from this server's view.
    return Deferred{[this, answer](std::function<void(Response)> respond) {
      replicator_.readBarrier([this, answer, respond = std::move(respond)](Status st) {
        if (!st.ok()) return respond(errorResponse(st.error()));
        respond(answer(*hub_.view()));
      });
    }};
  }
  {
    // Consul adds up to wait/16 of jitter so many watchers do not return together.
    std::lock_guard lock(rngMu_);
    auto span = wait.count() / 16;
    if (span > 0) wait += std::chrono::milliseconds(rng_() % static_cast<uint64_t>(span));
  }
  Blocking b;
  b.keys = std::move(keys);
  b.ready = [indexOf, minIndex](const View& v) { return indexOf(v) != minIndex; };
  b.wait = wait;
  b.render = [this, answer] { return answer(*hub_.view()); };
  return b;
}

Outcome Api::write(const registry::Command& cmd, std::function<Response(uint64_t)> onOk,
                   const std::function<void()>& beforePropose) {
  // A server that does not apply the command's version would skip it and
  // keep a different catalog: refuse here, before anything is committed.
  if (tCall)
    if (auto d = commandDenied(*tCall->caller, cmd, *hub_.view(), tCall->agentRoute))
      return deniedResponse(*tCall->caller, *d);
  uint32_t need = registry::commandVersion(cmd);
  if (uint32_t have = replicator_.clusterCommandVersion(); need > have)
    return errorResponse(unavailable(
        "not every server applies catalog command version " + std::to_string(need) +
        " (3: gRPC checks, 4: ACLs and the mesh's CA and intentions); the cluster applies "
        "version " +
        std::to_string(have) + ": upgrade every server, or retry if one has just started"));
  std::string bytes = registry::encodeCommand(cmd);
  if (beforePropose) beforePropose();
  return Deferred{[this, bytes = std::move(bytes),
                   onOk = std::move(onOk)](std::function<void(Response)> respond) mutable {
    replicator_.propose(std::move(bytes), [respond = std::move(respond), onOk](Result<uint64_t> r) {
      if (!r.ok()) return respond(errorResponse(r.error()));
      respond(onOk(*r));
    });
  }};
}

Outcome Api::statusLeader(const Request&, const std::string&) {
  std::string body = "\"";
  body += replicator_.leader();
  body += '"';
  return Response::json(std::move(body));
}

Outcome Api::statusPeers(const Request&, const std::string&) {
  std::string body = "[";
  for (const auto& p : replicator_.peers()) body += (body.size() > 1 ? ",\"" : "\"") + p + "\"";
  return Response::json(body + "]");
}

Outcome Api::metricsPage(const Request&, const std::string&) {
  std::string body = metrics_.render(*hub_.view(), hub_);
  if (opts_.moreMetrics) opts_.moreMetrics(body);
  auto r = Response::text(200, std::move(body));
  r.contentType = "text/plain; version=0.0.4";
  return r;
}

}  // namespace cairn::http
