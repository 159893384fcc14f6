#include "registry/acl.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>

namespace cairn::registry::acl {

std::string_view toString(Access a) {
  switch (a) {
    case Access::kDeny:
      return "deny";
    case Access::kRead:
      return "read";
    case Access::kWrite:
      return "write";
    default:
      return "";
  }
}

std::string_view toString(Resource r) {
  switch (r) {
    case Resource::kService:
      return "service";
    case Resource::kNode:
      return "node";
    case Resource::kAgent:
      return "agent";
    case Resource::kOperator:
      return "operator";
    default:
      return "acl";
  }
}

Access parseAccess(std::string_view s) {
  if (s == "read") return Access::kRead;
  if (s == "write") return Access::kWrite;
  if (s == "deny") return Access::kDeny;
  return Access::kUnset;
}

namespace {

// Deny beats write beats read, for rules of equal specificity.
int strength(Access a) {
  switch (a) {
    case Access::kDeny:
      return 3;
    case Access::kWrite:
      return 2;
    case Access::kRead:
      return 1;
    default:
      return 0;
  }
}

bool named(Resource r) {
  return r == Resource::kService || r == Resource::kNode || r == Resource::kAgent;
}

}  // namespace

Authorizer Authorizer::allowAll() {
  Authorizer a;
  a.all_ = true;
  a.default_ = Access::kWrite;
  return a;
}

Authorizer Authorizer::fromRules(std::vector<Rule> rules, Access defaultAccess) {
  Authorizer a;
  a.default_ = defaultAccess == Access::kUnset ? Access::kDeny : defaultAccess;
  a.rules_ = std::move(rules);
  return a;
}

Access Authorizer::access(Resource r, std::string_view name) const {
  if (all_) return Access::kWrite;
  // Specificity: an exact rule beats every prefix; a longer prefix beats a
  // shorter one. -1: nothing matched yet.
  long best = -1;
  Access got = Access::kUnset;
  for (const auto& rule : rules_) {
    if (rule.resource != r || rule.access == Access::kUnset) continue;
    long spec;
    if (!named(r)) {
      spec = 0;
    } else if (rule.prefix) {
      if (!name.starts_with(rule.name)) continue;
      spec = static_cast<long>(rule.name.size());
    } else {
      if (name != rule.name) continue;
      spec = static_cast<long>(name.size()) + 1;  // beats a prefix of the same length
    }
    if (spec > best || (spec == best && strength(rule.access) > strength(got))) {
      best = spec;
      got = rule.access;
    }
  }
  return got == Access::kUnset ? default_ : got;
}

bool Authorizer::allowed(Resource r, std::string_view name, Access want) const {
  Access a = access(r, name);
  if (want == Access::kWrite) return a == Access::kWrite;
  return a == Access::kRead || a == Access::kWrite;
}

bool Authorizer::readsAll(Resource r) const {
  if (all_) return true;
  // Every name reads when the empty prefix reads (or the default does and no
  // rule narrows it) and no rule of this resource denies.
  bool anyDeny = false;
  for (const auto& rule : rules_)
    if (rule.resource == r && rule.access == Access::kDeny) anyDeny = true;
  if (anyDeny) return false;
  return allowed(r, "", Access::kRead);
}

const Token* AclState::findBySecret(std::string_view secret) const {
  const Token* found = nullptr;
  // Every token is compared, so the time does not tell which one matched.
  for (const auto& [id, t] : tokens)
    if (constantTimeEqual(t.secretId, secret) && !found) found = &t;
  return found;
}

const Policy* AclState::findPolicyByName(std::string_view name) const {
  for (const auto& [id, p] : policies)
    if (p.name == name) return &p;
  return nullptr;
}

Authorizer AclState::authorizerFor(const Token& t, Access defaultAccess) const {
  std::vector<Rule> rules;
  for (const auto& pid : t.policyIds) {
    if (pid == kManagementPolicyId) return Authorizer::allowAll();
    auto it = policies.find(pid);
    if (it == policies.end()) continue;  // a deleted policy grants nothing
    auto parsed = parseRules(it->second.rules);
    if (!parsed.ok()) continue;  // checked on write; a stored bad one grants nothing
    rules.insert(rules.end(), parsed->begin(), parsed->end());
  }
  return Authorizer::fromRules(std::move(rules), defaultAccess);
}

std::string randomUuid() {
  unsigned char b[16];
  CAIRN_CHECK(RAND_bytes(b, sizeof b) == 1, "the CSPRNG (RAND_bytes) failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 15]);
  }
  return out;
}

bool constantTimeEqual(std::string_view a, std::string_view b) {
  // The length is not secret (SecretIDs are UUIDs); the content is.
  if (a.size() != b.size() || a.empty()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cairn::registry::acl
