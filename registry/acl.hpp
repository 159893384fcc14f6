// ACLs as Consul models them: policies (named sets of rules), tokens (a
// secret naming some policies), and the resolution of a token's rights on a
// resource. Pure logic; the state is replicated as part of the catalog View.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::registry::acl {

// kDeny < kRead < kWrite in what they grant; kUnset: no rule says.
enum class Access : uint8_t { kUnset, kDeny, kRead, kWrite };
enum class Resource : uint8_t { kService, kNode, kAgent, kOperator, kAcl };

std::string_view toString(Access a);
std::string_view toString(Resource r);  // "service", "node", ...
// "read", "write", "deny"; anything else is nullopt-like kUnset.
Access parseAccess(std::string_view s);

// One rule: `service_prefix "web" { policy = "read" }` is
// {kService, "web", prefix=true, kRead}. Operator and acl rules have no name.
struct Rule {
  Resource resource = Resource::kService;
  std::string name;
  bool prefix = false;
  Access access = Access::kUnset;
  bool operator==(const Rule&) const = default;
};

// Parses a policy's Rules text: Consul's JSON form or the HCL subset
// (`service_prefix "" { policy = "read" }`, `operator = "read"`, comments).
// Rules for resources Cairn does not have (key_prefix, session, ...) are
// accepted and ignored, as their names are Consul's; anything else is
// kInvalidArgument naming what is wrong. Input of any size or shape is safe.
Result<std::vector<Rule>> parseRules(std::string_view text);

struct Policy {
  std::string id;
  std::string name;
  std::string description;
  std::string rules;  // as given
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;
};

struct Token {
  std::string accessorId;
  std::string secretId;
  std::string description;
  std::vector<std::string> policyIds;
  bool local = false;
  std::string createTime;  // RFC 3339, as the proposer stamped it
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;
};

inline constexpr std::string_view kManagementPolicyId = "00000000-0000-0000-0000-000000000001";
inline constexpr std::string_view kManagementPolicyName = "global-management";
inline constexpr std::string_view kAnonymousAccessorId = "00000000-0000-0000-0000-000000000002";
inline constexpr std::string_view kAnonymousSecretId = "anonymous";

// What a token may do. Cheap to copy around; built per request from the
// current state so a deleted token or edited policy counts at once.
class Authorizer {
 public:
  // Everything allowed (ACLs off, or a management token).
  static Authorizer allowAll();
  // The rules of a token's policies over a default (kWrite for "allow",
  // kDeny for "deny").
  static Authorizer fromRules(std::vector<Rule> rules, Access defaultAccess);

  // The access granted on a resource: for service/node/agent, the exact rule
  // if any, else the longest matching prefix; at equal specificity (several
  // policies) deny wins, then write. No rule: the default.
  Access access(Resource r, std::string_view name) const;
  bool allowed(Resource r, std::string_view name, Access want) const;
  bool canRead(Resource r, std::string_view name) const { return allowed(r, name, Access::kRead); }
  bool canWrite(Resource r, std::string_view name) const {
    return allowed(r, name, Access::kWrite);
  }
  // True when every read of `r` is allowed, whatever the name (a list can
  // skip filtering).
  bool readsAll(Resource r) const;
  bool isManagement() const { return all_; }

 private:
  bool all_ = false;
  Access default_ = Access::kDeny;
  std::vector<Rule> rules_;
};

// The replicated ACL state: policies by ID, tokens by AccessorID.
struct AclState {
  bool bootstrapped = false;
  uint64_t index = 0;  // Raft index of the last change
  std::map<std::string, Policy> policies;
  std::map<std::string, Token> tokens;

  // The token whose SecretID is `secret`, or null. Compares in constant
  // time (no early exit on the first differing byte).
  const Token* findBySecret(std::string_view secret) const;
  const Policy* findPolicyByName(std::string_view name) const;
  // The rights of `t` with the given default policy.
  Authorizer authorizerFor(const Token& t, Access defaultAccess) const;
};
using AclStatePtr = std::shared_ptr<const AclState>;

// A random UUIDv4 from the CSPRNG (RAND_bytes). Aborts if the CSPRNG fails.
std::string randomUuid();
bool constantTimeEqual(std::string_view a, std::string_view b);

}  // namespace cairn::registry::acl
