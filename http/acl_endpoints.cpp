// /v1/acl/*: bootstrap, policies and tokens in Consul's shapes. Writes go
// through Raft as AclCommands; the proposer fills in random IDs (RAND_bytes)
// and the clock, so every server applies the same thing. SecretIDs are never
// logged, and shown only to tokens with acl:write.
#include <algorithm>
#include <boost/json.hpp>
#include <ctime>

#include "http/api.hpp"
#include "http/encode.hpp"
#include "http/json_fields.hpp"

namespace cairn::http {
namespace json = boost::json;
using registry::AclCommand;
namespace acl = registry::acl;

namespace {

Response aclDisabled() {
  return Response::text(401, "ACL support disabled");
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::object policyJson(const acl::Policy& p, bool withRules) {
  json::object o{{"ID", p.id},
                 {"Name", p.name},
                 {"Description", p.description},
                 {"Datacenters", nullptr},
                 {"CreateIndex", p.createIndex},
                 {"ModifyIndex", p.modifyIndex}};
  if (withRules) o["Rules"] = p.rules;
  return o;
}

json::object tokenJson(const acl::Token& t, const acl::AclState* state, bool showSecret) {
  json::array policies;
  for (const auto& id : t.policyIds) {
    std::string name;
    if (state)
      if (auto it = state->policies.find(id); it != state->policies.end()) name = it->second.name;
    policies.push_back(json::object{{"ID", id}, {"Name", name}});
  }
  return json::object{{"AccessorID", t.accessorId},
                      {"SecretID", showSecret ? t.secretId : std::string("<hidden>")},
                      {"Description", t.description},
                      {"Policies", std::move(policies)},
                      {"Local", t.local},
                      {"CreateTime", t.createTime},
                      {"CreateIndex", t.createIndex},
                      {"ModifyIndex", t.modifyIndex}};
}

Response jsonOf(const json::value& v) {
  return Response::json(http::serialize(v));
}

}  // namespace

Outcome Api::aclBootstrap(const Request&, const std::string&) {
  if (!opts_.acl.enabled) return aclDisabled();
  auto view = hub_.view();
  if (view->acl && view->acl->bootstrapped)
    return Response::text(403, "ACL bootstrap no longer allowed");
  AclCommand c;
  c.op = AclCommand::Op::kBootstrap;
  c.token.accessorId = acl::randomUuid();
  c.token.secretId = acl::randomUuid();
  c.token.description = "Bootstrap Token (Global Management)";
  c.token.policyIds = {std::string(acl::kManagementPolicyId)};
  c.token.createTime = nowRfc3339();
  return write(c, [t = c.token](uint64_t index) {
    acl::Token out = t;
    out.createIndex = out.modifyIndex = index;
    acl::AclState names;
    names.policies[std::string(acl::kManagementPolicyId)].name = acl::kManagementPolicyName;
    return jsonOf(tokenJson(out, &names, true));
  });
}

Outcome Api::aclPolicyWrite(const Request& req, const std::string& id) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  Fields f(*obj);
  AclCommand c;
  c.op = AclCommand::Op::kSetPolicy;
  auto& p = c.policy;
  for (auto [key, out] : {std::pair{"Name", &p.name}, std::pair{"Description", &p.description},
                          std::pair{"Rules", &p.rules}, std::pair{"ID", &p.id}})
    if (Status st = f.str(key, *out); !st.ok()) return errorResponse(st.error());
  if (!id.empty()) {
    if (!p.id.empty() && p.id != id)
      return Response::text(400, "Policy ID in URL and payload do not match");
    p.id = id;
  }
  if (p.name.empty()) return Response::text(400, "Invalid Policy: no Name is set");
  auto view = hub_.view();
  if (p.id.empty()) {
    p.id = acl::randomUuid();
  } else if (!view->acl || !view->acl->policies.count(p.id)) {
    return Response::text(400, "Cannot find policy " + p.id);
  }
  if (p.id == acl::kManagementPolicyId)
    return Response::text(400, "Changing the global-management policy is not permitted");
  if (auto rules = acl::parseRules(p.rules); !rules.ok()) return errorResponse(rules.error());
  uint64_t created = 0;
  if (view->acl)
    if (auto it = view->acl->policies.find(p.id); it != view->acl->policies.end())
      created = it->second.createIndex;
  return write(c, [p, created](uint64_t index) {
    acl::Policy out = p;
    out.createIndex = created ? created : index;
    out.modifyIndex = index;
    return jsonOf(policyJson(out, true));
  });
}

Outcome Api::aclPolicyCreate(const Request& req, const std::string&) {
  if (!opts_.acl.enabled) return aclDisabled();
  return aclPolicyWrite(req, "");
}

Outcome Api::aclPolicy(const Request& req, const std::string& id) {
  if (!opts_.acl.enabled) return aclDisabled();
  if (req.method == "PUT") return aclPolicyWrite(req, id);
  if (req.method == "DELETE") {
    AclCommand c;
    c.op = AclCommand::Op::kDeletePolicy;
    c.id = id;
    return write(c, [](uint64_t) { return Response::json("true"); });
  }
  auto view = hub_.view();
  const acl::Policy* p = nullptr;
  if (view->acl)
    if (auto it = view->acl->policies.find(id); it != view->acl->policies.end()) p = &it->second;
  if (!p) return Response::text(404, "ACL policy not found");
  Response r = jsonOf(policyJson(*p, true));
  addIndexHeaders(r, view->acl->index);
  return r;
}

Outcome Api::aclPolicyByName(const Request&, const std::string& name) {
  if (!opts_.acl.enabled) return aclDisabled();
  auto view = hub_.view();
  const acl::Policy* p = view->acl ? view->acl->findPolicyByName(name) : nullptr;
  if (!p) return Response::text(404, "ACL policy not found");
  Response r = jsonOf(policyJson(*p, true));
  addIndexHeaders(r, view->acl->index);
  return r;
}

Outcome Api::aclPolicies(const Request&, const std::string&) {
  if (!opts_.acl.enabled) return aclDisabled();
  auto view = hub_.view();
  json::array out;
  if (view->acl)
    for (const auto& [id, p] : view->acl->policies) out.push_back(policyJson(p, false));
  Response r = jsonOf(out);
  addIndexHeaders(r, view->acl ? view->acl->index : 0);
  return r;
}

Outcome Api::aclTokenWrite(const Request& req, const std::string& accessor) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  Fields f(*obj);
  AclCommand c;
  c.op = AclCommand::Op::kSetToken;
  auto& t = c.token;
  for (auto [key, out] :
       {std::pair{"AccessorID", &t.accessorId}, std::pair{"SecretID", &t.secretId},
        std::pair{"Description", &t.description}})
    if (Status st = f.str(key, *out); !st.ok()) return errorResponse(st.error());
  if (Status st = f.boolean("Local", t.local); !st.ok()) return errorResponse(st.error());
  auto view = hub_.view();
  const acl::AclState* state = view->acl.get();
  if (const auto* ps = f.find("Policies")) {
    if (!ps->is_array())
      return Response::text(400, "Request decode failed: Policies: expected a list");
    for (const auto& pv : ps->get_array()) {
      if (!pv.is_object())
        return Response::text(400, "Request decode failed: Policies: expected objects");
      Fields pf(pv.get_object(), "Policies.");
      std::string id, name;
      if (Status st = pf.str("ID", id); !st.ok()) return errorResponse(st.error());
      if (Status st = pf.str("Name", name); !st.ok()) return errorResponse(st.error());
      if (id.empty() && !name.empty()) {
        const acl::Policy* p = state ? state->findPolicyByName(name) : nullptr;
        if (!p) return Response::text(400, "No such ACL policy with name \"" + name + "\"");
        id = p->id;
      }
      if (id.empty() || !state || !state->policies.count(id))
        return Response::text(400, "No such ACL policy with ID \"" + id + "\"");
      t.policyIds.push_back(id);
    }
  }
  const acl::Token* existing = nullptr;
  if (!accessor.empty()) {
    if (!t.accessorId.empty() && t.accessorId != accessor)
      return Response::text(400, "Token AccessorID in URL and payload do not match");
    t.accessorId = accessor;
    if (state)
      if (auto it = state->tokens.find(accessor); it != state->tokens.end()) existing = &it->second;
    if (!existing) return Response::text(400, "Cannot find token " + accessor);
    if (!t.secretId.empty() && !acl::constantTimeEqual(t.secretId, existing->secretId))
      return Response::text(400, "Changing a token's SecretID is not permitted");
    t.secretId = existing->secretId;
    t.createTime = existing->createTime;
  } else {
    if (t.accessorId.empty()) t.accessorId = acl::randomUuid();
    if (t.secretId.empty()) t.secretId = acl::randomUuid();
    if (state && state->tokens.count(t.accessorId))
      return Response::text(400, "Invalid Token: AccessorID is already in use");
    t.createTime = nowRfc3339();
  }
  uint64_t created = existing ? existing->createIndex : 0;
  auto names = std::make_shared<acl::AclState>();
  if (state) names->policies = state->policies;
  return write(c, [t, created, names](uint64_t index) {
    acl::Token out = t;
    out.createIndex = created ? created : index;
    out.modifyIndex = index;
    return jsonOf(tokenJson(out, names.get(), true));
  });
}

Outcome Api::aclTokenCreate(const Request& req, const std::string&) {
  if (!opts_.acl.enabled) return aclDisabled();
  return aclTokenWrite(req, "");
}

Outcome Api::aclToken(const Request& req, const std::string& accessor) {
  if (!opts_.acl.enabled) return aclDisabled();
  if (req.method == "PUT") return aclTokenWrite(req, accessor);
  if (req.method == "DELETE") {
    AclCommand c;
    c.op = AclCommand::Op::kDeleteToken;
    c.id = accessor;
    return write(c, [](uint64_t) { return Response::json("true"); });
  }
  auto view = hub_.view();
  const acl::AclState* state = view->acl.get();
  const acl::Token* t = nullptr;
  if (state)
    if (auto it = state->tokens.find(accessor); it != state->tokens.end()) t = &it->second;
  if (!t) return Response::text(404, "ACL token not found");
  auto caller = resolveCaller(*view, opts_.acl, requestToken(req));
  bool showSecret = caller.ok() && caller->authz.canWrite(acl::Resource::kAcl, "");
  Response r = jsonOf(tokenJson(*t, state, showSecret));
  addIndexHeaders(r, state->index);
  return r;
}

Outcome Api::aclTokenSelf(const Request& req, const std::string&) {
  if (!opts_.acl.enabled) return aclDisabled();
  auto view = hub_.view();
  const acl::AclState* state = view->acl.get();
  std::string secret = requestToken(req);
  const acl::Token* t = nullptr;
  if (state) {
    if (secret.empty()) {
      auto it = state->tokens.find(std::string(acl::kAnonymousAccessorId));
      if (it != state->tokens.end()) t = &it->second;
    } else {
      t = state->findBySecret(secret);
    }
  }
  if (!t) return Response::text(403, "ACL not found");
  Response r = jsonOf(tokenJson(*t, state, true));  // its own secret, which the caller holds
  addIndexHeaders(r, state->index);
  return r;
}

Outcome Api::aclTokens(const Request& req, const std::string&) {
  if (!opts_.acl.enabled) return aclDisabled();
  auto view = hub_.view();
  const acl::AclState* state = view->acl.get();
  auto caller = resolveCaller(*view, opts_.acl, requestToken(req));
  bool showSecret = caller.ok() && caller->authz.canWrite(acl::Resource::kAcl, "");
  const std::string* policy = req.param("policy");
  json::array out;
  if (state)
    for (const auto& [id, t] : state->tokens) {
      if (policy && std::find(t.policyIds.begin(), t.policyIds.end(), *policy) == t.policyIds.end())
        continue;
      out.push_back(tokenJson(t, state, showSecret));
    }
  Response r = jsonOf(out);
  addIndexHeaders(r, state ? state->index : 0);
  return r;
}

}  // namespace cairn::http
