// Applying ACL commands: the ACL state is replaced whole (it is small) and
// written as one row. Every check here is deterministic, so every server
// reaches the same answer; the proposer has already made the same checks
// against its view and filled in the random and clock values.
#include "registry/apply.hpp"

namespace cairn::registry {

namespace {

Status checkPolicy(const acl::AclState& s, const acl::Policy& p) {
  if (p.id.empty() || p.name.empty()) return invalidArgument("a policy needs an ID and a Name");
  if (p.id == acl::kManagementPolicyId)
    return invalidArgument("the global-management policy cannot be changed");
  if (const auto* other = s.findPolicyByName(p.name); other && other->id != p.id)
    return invalidArgument("Invalid Policy: A Policy with Name \"" + p.name + "\" already exists");
  auto rules = acl::parseRules(p.rules);
  if (!rules.ok()) return rules.error();
  return {};
}

Status checkToken(const acl::AclState& s, const acl::Token& t) {
  if (t.accessorId.empty() || t.secretId.empty())
    return invalidArgument("a token needs an AccessorID and a SecretID");
  for (const auto& [id, other] : s.tokens)
    if (id != t.accessorId && other.secretId == t.secretId)
      return invalidArgument("Invalid Token: SecretID is already in use");
  if (auto it = s.tokens.find(t.accessorId);
      it != s.tokens.end() && it->second.secretId != t.secretId)
    return invalidArgument("a token's SecretID cannot change");
  for (const auto& pid : t.policyIds)
    if (!s.policies.count(pid))
      return invalidArgument("No such ACL policy with ID \"" + pid + "\"");
  return {};
}

}  // namespace

Status Mutation::aclCmd(const AclCommand& c) {
  using Op = AclCommand::Op;
  auto next = std::make_shared<acl::AclState>(w_.acl ? *w_.acl : acl::AclState{});
  auto& s = *next;
  switch (c.op) {
    case Op::kBootstrap: {
      if (s.bootstrapped)
        return Error{ErrorCode::kPermissionDenied, "ACL bootstrap no longer allowed"};
      acl::Policy mgmt{std::string(acl::kManagementPolicyId),
                       std::string(acl::kManagementPolicyName),
                       "Builtin Policy that grants unlimited access",
                       "",
                       idx_,
                       idx_};
      s.policies[mgmt.id] = mgmt;
      if (!s.tokens.count(std::string(acl::kAnonymousAccessorId))) {
        acl::Token anon;
        anon.accessorId = acl::kAnonymousAccessorId;
        anon.secretId = acl::kAnonymousSecretId;
        anon.description = "Anonymous Token";
        anon.createTime = c.token.createTime;
        anon.createIndex = anon.modifyIndex = idx_;
        s.tokens[anon.accessorId] = anon;
      }
      acl::Token t = c.token;
      t.policyIds = {mgmt.id};
      if (Status st = checkToken(s, t); !st.ok()) return st;
      t.createIndex = t.modifyIndex = idx_;
      s.tokens[t.accessorId] = std::move(t);
      s.bootstrapped = true;
      break;
    }
    case Op::kSetPolicy: {
      if (Status st = checkPolicy(s, c.policy); !st.ok()) return st;
      acl::Policy p = c.policy;
      auto it = s.policies.find(p.id);
      p.createIndex = it == s.policies.end() ? idx_ : it->second.createIndex;
      p.modifyIndex = idx_;
      s.policies[p.id] = std::move(p);
      break;
    }
    case Op::kDeletePolicy: {
      if (c.id == acl::kManagementPolicyId)
        return invalidArgument("the global-management policy cannot be deleted");
      if (!s.policies.erase(c.id)) return notFound("No such ACL policy with ID \"" + c.id + "\"");
      // Tokens keep naming it; a missing policy grants nothing (Consul does the same).
      break;
    }
    case Op::kSetToken: {
      if (Status st = checkToken(s, c.token); !st.ok()) return st;
      acl::Token t = c.token;
      auto it = s.tokens.find(t.accessorId);
      if (it != s.tokens.end()) {
        t.createIndex = it->second.createIndex;
        t.createTime = it->second.createTime;
      } else {
        t.createIndex = idx_;
      }
      t.modifyIndex = idx_;
      s.tokens[t.accessorId] = std::move(t);
      break;
    }
    case Op::kDeleteToken: {
      if (c.id == acl::kAnonymousAccessorId)
        return invalidArgument("Delete of the anonymous token is not allowed");
      if (!s.tokens.erase(c.id))
        return notFound("No such ACL token with AccessorID \"" + c.id + "\"");
      break;
    }
  }
  s.index = idx_;
  rows_.push_back({Table::kIndexes, std::string(kAclStateRowKey), encodeAclState(s)});
  keys_.emplace_back(kAclWatchKey);
  w_.acl = std::move(next);
  return {};
}

}  // namespace cairn::registry
