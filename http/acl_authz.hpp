// ACL enforcement for the HTTP API: which token a request carries, what it
// may do, what each route and each write needs, and the catalog as a token
// may see it. Pure functions of a View, so they are tested without sockets
// and a deleted token counts at the next request on every server.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "http/types.hpp"
#include "registry/acl.hpp"
#include "registry/command.hpp"
#include "registry/view.hpp"

namespace cairn::http {

struct AclOptions {
  bool enabled = false;
  // What no rule says: kWrite ("allow") or kDeny ("deny").
  registry::acl::Access defaultAccess = registry::acl::Access::kWrite;
  // acl.tokens.initial_management: a SecretID treated as a management token
  // on this server (not stored; known to whoever configured the servers).
  std::string initialManagement;
};

// The token of a request: X-Consul-Token, then Authorization: Bearer, then
// ?token=. "" when none.
std::string requestToken(const Request& req);

// Who is calling: the rights and the AccessorID (for 403 messages).
struct Caller {
  registry::acl::Authorizer authz;
  std::string accessorId;
};

// The caller a secret names in view `v`. No secret: the anonymous token (or,
// before bootstrap, nothing but the default policy). An unknown secret is
// kPermissionDenied "ACL not found", as Consul answers.
Result<Caller> resolveCaller(const registry::View& v, const AclOptions& opts,
                             std::string_view secret);

// A permission a caller lacks: "service:write" on "web".
struct Denied {
  std::string permission;
  std::string resource;
};
Response deniedResponse(const Caller& c, const Denied& d);

// What a route needs before its handler runs (beyond what its reads filter
// and its writes' commands need). `selfNode` names this server's node.
std::optional<Denied> routeDenied(const Caller& c, std::string_view routeName,
                                  std::string_view method, const std::string& arg,
                                  const registry::View& v, const std::string& selfNode);

// What a write needs, from the command itself. `agentRoute`: the write came
// through /v1/agent/ (which registers on the agent's own node and needs no
// node:write for it, as in Consul).
std::optional<Denied> commandDenied(const Caller& c, const registry::Command& cmd,
                                    const registry::View& v, bool agentRoute);
// A check's owner: service:write on its service, else node:write.
std::optional<Denied> checkWriteDenied(const Caller& c, const registry::Check& check);

// The view with only what the caller may read: nodes (node:read), service
// instances (service:read on the name and node:read on the node), checks
// (node:read, and service:read for a service's). `removed` is set when
// anything was left out. Null when nothing needs filtering (use `v`).
registry::ViewPtr filterView(const registry::View& v, const registry::acl::Authorizer& a,
                             bool& removed);

// What the anonymous token may read of `v` (DNS answers); `v` itself when
// that is everything.
registry::ViewPtr anonymousView(const registry::ViewPtr& v, const AclOptions& opts);

}  // namespace cairn::http
