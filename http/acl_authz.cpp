#include "http/acl_authz.hpp"

#include <algorithm>

namespace cairn::http {

using registry::View;
using registry::acl::Access;
using registry::acl::Authorizer;
using registry::acl::Resource;

std::string requestToken(const Request& req) {
  if (auto it = req.headers.find("x-consul-token"); it != req.headers.end() && !it->second.empty())
    return it->second;
  if (auto it = req.headers.find("authorization"); it != req.headers.end()) {
    std::string_view v = it->second;
    if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer "))
      return std::string(v.substr(7));
  }
  if (const auto* t = req.param("token")) return *t;
  return "";
}

Result<Caller> resolveCaller(const View& v, const AclOptions& opts, std::string_view secret) {
  if (!opts.enabled) return Caller{Authorizer::allowAll(), ""};
  if (!secret.empty() && registry::acl::constantTimeEqual(secret, opts.initialManagement))
    return Caller{Authorizer::allowAll(), "initial-management"};
  const auto* state = v.acl.get();
  const registry::acl::Token* t = nullptr;
  if (secret.empty()) {
    if (state) {
      auto it = state->tokens.find(std::string(registry::acl::kAnonymousAccessorId));
      if (it != state->tokens.end()) t = &it->second;
    }
    if (!t)
      return Caller{Authorizer::fromRules({}, opts.defaultAccess),
                    std::string(registry::acl::kAnonymousAccessorId)};
  } else {
    t = state ? state->findBySecret(secret) : nullptr;
    if (!t) return Error{ErrorCode::kPermissionDenied, "ACL not found"};
  }
  return Caller{state->authorizerFor(*t, opts.defaultAccess), t->accessorId};
}

Response deniedResponse(const Caller& c, const Denied& d) {
  return Response::text(403, "Permission denied: token with AccessorID '" + c.accessorId +
                                 "' lacks permission '" + d.permission + "' on \"" + d.resource +
                                 "\"");
}

namespace {

std::optional<Denied> need(const Caller& c, Resource r, std::string_view name, Access a) {
  if (c.authz.allowed(r, name, a)) return std::nullopt;
  std::string perm(registry::acl::toString(r));
  perm += ':';
  perm += registry::acl::toString(a);
  bool named = r == Resource::kService || r == Resource::kNode || r == Resource::kAgent;
  return Denied{perm, named ? std::string(name) : std::string(registry::acl::toString(r))};
}

// The service name of an instance by ID: on `node` first, else anywhere.
std::string serviceNameById(const View& v, const std::string& node, const std::string& id) {
  if (const auto* i = v.nodeServices.find(registry::instanceKey(node, id)))
    return (*i)->service->name;
  std::string found;
  v.nodeServices.forEach([&](const std::string&, const registry::InstancePtr& i) {
    if (i->service->id != id) return true;
    found = i->service->name;
    return false;
  });
  return found;
}

}  // namespace

std::optional<Denied> routeDenied(const Caller& c, std::string_view route, std::string_view method,
                                  const std::string& arg, const View& v,
                                  const std::string& selfNode) {
  if (c.authz.isManagement()) return std::nullopt;
  const bool get = method == "GET";
  const Access rw = get ? Access::kRead : Access::kWrite;
  // The route table's permissions. Routes not listed need nothing here:
  // their reads are filtered (query) and their writes checked on the command.
  static const struct {
    std::string_view route;
    Resource resource;
    int access;  // 0: read, 1: write, 2: read for GET and write otherwise
  } table[] = {
      {"/v1/agent/self", Resource::kAgent, 0},
      {"/v1/agent/members", Resource::kAgent, 0},
      {"/v1/agent/metrics", Resource::kAgent, 0},
      {"/metrics", Resource::kAgent, 0},
      {"/v1/agent/join/:address", Resource::kAgent, 1},
      {"/v1/agent/leave", Resource::kAgent, 1},
      {"/v1/operator/raft/configuration", Resource::kOperator, 0},
      {"/v1/operator/autopilot/health", Resource::kOperator, 0},
      {"/v1/operator/raft/peer", Resource::kOperator, 1},
      {"/v1/operator/raft/transfer-leader", Resource::kOperator, 1},
      {"/v1/acl/policy", Resource::kAcl, 2},
      {"/v1/acl/policy/:id", Resource::kAcl, 2},
      {"/v1/acl/policy/name/:name", Resource::kAcl, 2},
      {"/v1/acl/policies", Resource::kAcl, 0},
      {"/v1/acl/token", Resource::kAcl, 2},
      {"/v1/acl/token/:id", Resource::kAcl, 2},
      {"/v1/acl/tokens", Resource::kAcl, 0},
  };
  for (const auto& e : table) {
    if (e.route != route) continue;
    Access a = e.access == 0 ? Access::kRead : e.access == 1 ? Access::kWrite : rw;
    std::string_view name = e.resource == Resource::kAgent ? std::string_view(selfNode) : "";
    return need(c, e.resource, name, a);
  }
  if (route == "/v1/snapshot") {
    // A snapshot holds every secret, and a restore replaces everything:
    // management only, as in Consul.
    return Denied{"acl:write", "acl"};
  }
  if (route == "/v1/agent/service/load/:id") {
    std::string name = serviceNameById(v, selfNode, arg);
    return name.empty() ? std::nullopt : need(c, Resource::kService, name, Access::kWrite);
  }
  return std::nullopt;
}

std::optional<Denied> checkWriteDenied(const Caller& c, const registry::Check& check) {
  if (!check.serviceId.empty())
    return need(c, Resource::kService, check.serviceName, Access::kWrite);
  return need(c, Resource::kNode, check.node, Access::kWrite);
}

std::optional<Denied> commandDenied(const Caller& c, const registry::Command& cmd, const View& v,
                                    bool agentRoute) {
  if (c.authz.isManagement()) return std::nullopt;
  auto existingCheck = [&](const std::string& node,
                           const std::string& id) -> std::optional<Denied> {
    const auto* ck = v.checks.find(registry::instanceKey(node, id));
    if (!ck) return need(c, Resource::kNode, node, Access::kWrite);
    return checkWriteDenied(c, **ck);
  };
  if (const auto* r = std::get_if<registry::RegisterCommand>(&cmd)) {
    if (!r->skipNodeUpdate && !agentRoute)
      if (auto d = need(c, Resource::kNode, r->node.name, Access::kWrite)) return d;
    if (r->service) {
      if (auto d = need(c, Resource::kService, r->service->name, Access::kWrite)) return d;
      // Renaming an instance takes it from its old service too.
      if (const auto* old =
              v.nodeServices.find(registry::instanceKey(r->node.name, r->service->id)))
        if (auto d = need(c, Resource::kService, (*old)->service->name, Access::kWrite)) return d;
    }
    for (const auto& ck : r->checks) {
      if (ck.serviceId.empty()) {
        if (agentRoute) continue;  // the agent's own node
        if (auto d = need(c, Resource::kNode, r->node.name, Access::kWrite)) return d;
        continue;
      }
      std::string svc = r->service && r->service->id == ck.serviceId
                            ? r->service->name
                            : serviceNameById(v, r->node.name, ck.serviceId);
      if (auto d = need(c, Resource::kService, svc, Access::kWrite)) return d;
    }
    return std::nullopt;
  }
  if (const auto* d = std::get_if<registry::DeregisterCommand>(&cmd)) {
    if (!d->checkId.empty()) return existingCheck(d->node, d->checkId);
    if (!d->serviceId.empty()) {
      const auto* i = v.nodeServices.find(registry::instanceKey(d->node, d->serviceId));
      if (i) return need(c, Resource::kService, (*i)->service->name, Access::kWrite);
    }
    return need(c, Resource::kNode, d->node, Access::kWrite);
  }
  if (const auto* s = std::get_if<registry::CheckStatusCommand>(&cmd))
    return existingCheck(s->node, s->checkId);
  if (const auto* b = std::get_if<registry::CheckStatusBatchCommand>(&cmd)) {
    for (const auto& u : b->updates)
      if (auto d = existingCheck(u.node, u.checkId)) return d;
    return std::nullopt;
  }
  if (const auto* a = std::get_if<registry::AclCommand>(&cmd)) {
    // Anyone may bootstrap, once (apply refuses the second).
    if (a->op == registry::AclCommand::Op::kBootstrap) return std::nullopt;
    return need(c, Resource::kAcl, "", Access::kWrite);
  }
  return Denied{"acl:write", "acl"};  // a restore: management only
}

registry::ViewPtr filterView(const View& v, const Authorizer& a, bool& removed) {
  removed = false;
  if (a.readsAll(Resource::kService) && a.readsAll(Resource::kNode)) return nullptr;
  auto out = std::make_shared<View>(v);
  auto nodeOk = [&](const std::string& n) { return a.canRead(Resource::kNode, n); };
  auto svcOk = [&](const registry::Service& s) {
    return a.canRead(Resource::kService, s.name) && nodeOk(s.node);
  };
  std::vector<std::pair<std::string, registry::NodeEntryPtr>> nodes;
  v.nodes.forEach([&](const std::string& k, const registry::NodeEntryPtr& n) {
    if (nodeOk(k))
      nodes.emplace_back(k, n);
    else
      removed = true;
    return true;
  });
  std::vector<std::pair<std::string, registry::InstancePtr>> instances;
  v.nodeServices.forEach([&](const std::string& k, const registry::InstancePtr& i) {
    if (svcOk(*i->service))
      instances.emplace_back(k, i);
    else
      removed = true;
    return true;
  });
  std::vector<std::pair<std::string, registry::CheckPtr>> checks;
  v.checks.forEach([&](const std::string& k, const registry::CheckPtr& c) {
    bool ok =
        nodeOk(c->node) && (c->serviceId.empty() || a.canRead(Resource::kService, c->serviceName));
    if (ok)
      checks.emplace_back(k, c);
    else
      removed = true;
    return true;
  });
  std::vector<std::pair<std::string, registry::ServiceGroupPtr>> groups;
  v.services.forEach([&](const std::string& name, const registry::ServiceGroupPtr& g) {
    if (!a.canRead(Resource::kService, name)) return true;
    std::vector<std::pair<std::string, registry::InstancePtr>> keep;
    bool dropped = false;
    g->instances.forEach([&](const std::string& k, const registry::InstancePtr& i) {
      if (nodeOk(i->service->node))
        keep.emplace_back(k, i);
      else
        dropped = true;
      return true;
    });
    if (!dropped) {
      groups.emplace_back(name, g);
    } else if (!keep.empty()) {
      auto ng = std::make_shared<registry::ServiceGroup>();
      ng->index = g->index;
      ng->instances = registry::PMap<registry::InstancePtr>::fromSorted(std::move(keep));
      groups.emplace_back(name, std::move(ng));
    }
    return true;
  });
  out->nodes = registry::PMap<registry::NodeEntryPtr>::fromSorted(std::move(nodes));
  out->nodeServices = registry::PMap<registry::InstancePtr>::fromSorted(std::move(instances));
  out->checks = registry::PMap<registry::CheckPtr>::fromSorted(std::move(checks));
  out->services = registry::PMap<registry::ServiceGroupPtr>::fromSorted(std::move(groups));
  out->acl = nullptr;  // never rendered; keeps secrets out of reach of a render
  return out;
}

registry::ViewPtr anonymousView(const registry::ViewPtr& v, const AclOptions& opts) {
  auto caller = resolveCaller(*v, opts, "");
  if (!caller.ok()) return v;  // cannot happen: no secret is always someone
  bool removed = false;
  auto filtered = filterView(*v, caller->authz, removed);
  return filtered ? filtered : v;
}

}  // namespace cairn::http
