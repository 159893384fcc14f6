#include "registry/acl.hpp"

#include <gtest/gtest.h>

#include <random>

#include "registry/catalog.hpp"
#include "registry/catalog_fixture_test_util.hpp"
#include "registry/snapshot.hpp"

namespace cairn::registry::acl {
namespace {

using A = Access;
using R = Resource;

Authorizer authz(const std::string& rules, A def = A::kDeny) {
  auto parsed = parseRules(rules);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
  return Authorizer::fromRules(parsed.ok() ? *parsed : std::vector<Rule>{}, def);
}

// ---- resolution ----

TEST(AclResolve, DefaultPolicyAppliesWhenNoRuleMatches) {
  EXPECT_EQ(authz("").access(R::kService, "web"), A::kDeny);
  EXPECT_EQ(authz("", A::kWrite).access(R::kService, "web"), A::kWrite);
  EXPECT_TRUE(authz("", A::kWrite).canWrite(R::kOperator, ""));
  EXPECT_FALSE(authz("").canRead(R::kAcl, ""));
}

TEST(AclResolve, LongestPrefixWins) {
  auto a = authz(R"(service_prefix "" { policy = "read" }
                    service_prefix "web" { policy = "write" }
                    service_prefix "web-internal" { policy = "deny" })");
  EXPECT_EQ(a.access(R::kService, "db"), A::kRead);
  EXPECT_EQ(a.access(R::kService, "web"), A::kWrite);
  EXPECT_EQ(a.access(R::kService, "web-public"), A::kWrite);
  EXPECT_EQ(a.access(R::kService, "web-internal-x"), A::kDeny);
  // A longer deny loses to nothing shorter: "we" only matches "".
  EXPECT_EQ(a.access(R::kService, "we"), A::kRead);
}

TEST(AclResolve, ExactBeatsPrefixOfSameLength) {
  auto a = authz(R"(service_prefix "web" { policy = "deny" }
                    service "web" { policy = "read" })");
  EXPECT_EQ(a.access(R::kService, "web"), A::kRead);
  EXPECT_EQ(a.access(R::kService, "web2"), A::kDeny);
  auto b = authz(R"(service "web" { policy = "write" } service_prefix "" { policy = "deny" })");
  EXPECT_EQ(b.access(R::kService, "web"), A::kWrite);
  EXPECT_EQ(b.access(R::kService, "webx"), A::kDeny);
}

TEST(AclResolve, DenyWinsTies) {
  // Two policies with the same rule (their rules concatenated): deny wins,
  // then write beats read.
  auto a = authz(R"(service "web" { policy = "write" } service "web" { policy = "deny" }
                    node_prefix "n" { policy = "read" } node_prefix "n" { policy = "write" }
                    operator = "write"
                    operator = "deny")");
  EXPECT_EQ(a.access(R::kService, "web"), A::kDeny);
  EXPECT_EQ(a.access(R::kNode, "n1"), A::kWrite);
  EXPECT_EQ(a.access(R::kOperator, ""), A::kDeny);
}

TEST(AclResolve, ReadAndWriteImplications) {
  auto a = authz(R"(node "n1" { policy = "read" } node "n2" { policy = "write" }
                    agent_prefix "" { policy = "read" } acl = "write")");
  EXPECT_TRUE(a.canRead(R::kNode, "n1"));
  EXPECT_FALSE(a.canWrite(R::kNode, "n1"));
  EXPECT_TRUE(a.canRead(R::kNode, "n2"));
  EXPECT_TRUE(a.canWrite(R::kNode, "n2"));
  EXPECT_FALSE(a.canRead(R::kNode, "n3"));
  EXPECT_TRUE(a.canRead(R::kAgent, "anything"));
  EXPECT_FALSE(a.canWrite(R::kAgent, "anything"));
  EXPECT_TRUE(a.canWrite(R::kAcl, ""));
  EXPECT_FALSE(a.canRead(R::kOperator, ""));
}

TEST(AclResolve, ReadsAllOnlyWithoutDenies) {
  EXPECT_TRUE(authz(R"(service_prefix "" { policy = "read" })").readsAll(R::kService));
  EXPECT_FALSE(authz(R"(service_prefix "" { policy = "read" } service "x" { policy = "deny" })")
                   .readsAll(R::kService));
  EXPECT_FALSE(authz(R"(service_prefix "a" { policy = "read" })").readsAll(R::kService));
  EXPECT_TRUE(authz("", A::kRead).readsAll(R::kNode));
  EXPECT_TRUE(Authorizer::allowAll().readsAll(R::kNode));
}

TEST(AclResolve, ManagementTokenAndDeletedPolicies) {
  AclState s;
  s.policies["p1"] = {"p1", "web", "", R"(service "web" { policy = "write" })", 1, 1};
  Token t;
  t.accessorId = "a";
  t.secretId = "s";
  t.policyIds = {"p1", "missing"};
  EXPECT_TRUE(s.authorizerFor(t, A::kDeny).canWrite(R::kService, "web"));
  EXPECT_FALSE(s.authorizerFor(t, A::kDeny).canRead(R::kService, "db"));
  t.policyIds = {std::string(kManagementPolicyId)};
  EXPECT_TRUE(s.authorizerFor(t, A::kDeny).isManagement());
}

TEST(AclResolve, FindBySecret) {
  AclState s;
  s.tokens["a1"] = {"a1", "secret-1", "", {}, false, "", 0, 0};
  s.tokens["a2"] = {"a2", "secret-2", "", {}, false, "", 0, 0};
  ASSERT_NE(s.findBySecret("secret-2"), nullptr);
  EXPECT_EQ(s.findBySecret("secret-2")->accessorId, "a2");
  EXPECT_EQ(s.findBySecret("secret-3"), nullptr);
  EXPECT_EQ(s.findBySecret(""), nullptr);
  EXPECT_EQ(s.findBySecret("secret-"), nullptr);
}

TEST(AclResolve, RandomUuidIsV4AndDistinct) {
  auto a = randomUuid(), b = randomUuid();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
}

// ---- parsing ----

TEST(AclRules, JsonAndHclAgree) {
  auto j = parseRules(
      R"({"service_prefix": {"": {"policy": "read"}}, "service": {"web": {"policy": "write"}},
          "node": {"n1": {"policy": "deny"}}, "operator": "read", "acl": "write",
          "key_prefix": {"": {"policy": "list"}}})");
  auto h = parseRules(R"(
    # a comment
    service_prefix "" { policy = "read" }
    service "web" {
      policy = "write"   // another
      intentions = "read"
    }
    /* block
       comment */
    node "n1" { policy = "deny" }
    operator = "read"
    acl = "write"
    key_prefix "" { policy = "list" }
  )");
  ASSERT_TRUE(j.ok()) << j.error().message;
  ASSERT_TRUE(h.ok()) << h.error().message;
  std::vector<Rule> want{{R::kService, "", true, A::kRead},
                         {R::kService, "web", false, A::kWrite},
                         {R::kNode, "n1", false, A::kDeny},
                         {R::kOperator, "", false, A::kRead},
                         {R::kAcl, "", false, A::kWrite}};
  EXPECT_EQ(*j, want);
  EXPECT_EQ(*h, want);
}

TEST(AclRules, EmptyIsNoRules) {
  ASSERT_TRUE(parseRules("").ok());
  EXPECT_TRUE(parseRules("  \n# only a comment\n").value().empty());
  EXPECT_TRUE(parseRules("{}").value().empty());
}

TEST(AclRules, HclEscapesAndSeparators) {
  auto r = parseRules(R"(service "we\"b" { policy = "read", };)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "we\"b");
}

TEST(AclRules, RejectsBadInput) {
  for (const char* bad : {
           R"(service "web" { policy = "admin" })",  // not an access level
           R"(service "web" { policy = "read" )",    // unterminated block
           R"(service "web { policy = "read" })",    // unterminated string
           R"(bogus "x" { policy = "read" })",       // unknown resource
           R"(operator "x" { policy = "read" })",    // operator takes no name
           R"(service = "read")",                    // service needs a name
           R"(service "web" policy = "read")",       // no block
           R"(operator = read)",                     // unquoted value
           R"(/* never closed)",
           R"({"service": "read"})",
           R"({"service": {"web": {"policy": 1}}})",
           R"({"operator": {"x": 1}})",
           R"({"service": {"web": {}}})",
           R"({"nope": "read"})",
           R"({"service": )",
           "service \"web\" { policy = \"read\" }\x01",
       }) {
    auto r = parseRules(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
}

TEST(AclRules, GarbageNeverCrashes) {
  // Random bytes and random splices of valid rules: every result is either a
  // parse or an invalid-argument error; nothing else happens.
  std::mt19937 rng(42);
  const std::string valid =
      R"(service_prefix "" { policy = "read" } node "n" { policy = "write" } operator = "deny")";
  const std::string alphabet = "{}=\"#/*\\ \n,;abcdefservicenodepolicyreadwrite_01\x7f";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    if (i % 2) {
      s = valid;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        size_t at = rng() % s.size();
        if (rng() % 2)
          s.erase(at, 1 + rng() % 5);
        else
          s.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
    } else {
      size_t n = rng() % 64;
      for (size_t k = 0; k < n; ++k)
        s.push_back(i % 4 == 0 ? static_cast<char>(rng() % 256)
                               : alphabet[rng() % alphabet.size()]);
      if (i % 8 == 0) s.insert(0, "{");
    }
    auto r = parseRules(s);
    if (!r.ok()) {
      ASSERT_EQ(r.error().code, ErrorCode::kInvalidArgument) << s;
    } else {
      for (const auto& rule : *r) ASSERT_NE(rule.access, A::kUnset) << s;
    }
  }
}

// ---- replicated state ----

class AclStateTest : public testing::CatalogFixture {
 protected:
  static AclCommand bootstrap(std::string secret) {
    AclCommand c;
    c.op = AclCommand::Op::kBootstrap;
    c.token.accessorId = randomUuid();
    c.token.secretId = std::move(secret);
    return c;
  }
};

TEST_F(AclStateTest, BootstrapOnlyOnce) {
  ASSERT_TRUE(applyFlush(bootstrap("s1")).ok());
  auto v = cat->view();
  ASSERT_TRUE(v->acl);
  EXPECT_TRUE(v->acl->bootstrapped);
  EXPECT_TRUE(v->acl->policies.count(std::string(kManagementPolicyId)));
  EXPECT_TRUE(v->acl->tokens.count(std::string(kAnonymousAccessorId)));
  const Token* t = v->acl->findBySecret("s1");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(v->acl->authorizerFor(*t, A::kDeny).isManagement());
  Status again = applyFlush(bootstrap("s2"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(again.error().message, "ACL bootstrap no longer allowed");
  EXPECT_EQ(cat->view()->acl->findBySecret("s2"), nullptr);
}

TEST_F(AclStateTest, PoliciesTokensAndDeletion) {
  ASSERT_TRUE(applyFlush(bootstrap("root")).ok());
  AclCommand p;
  p.op = AclCommand::Op::kSetPolicy;
  p.policy = {"pid", "web-read", "", R"(service "web" { policy = "read" })", 0, 0};
  ASSERT_TRUE(applyFlush(p).ok());
  AclCommand dup = p;
  dup.policy.id = "pid2";
  EXPECT_FALSE(applyFlush(dup).ok()) << "two policies with one name";
  AclCommand badRules = p;
  badRules.policy.rules = "service {";
  EXPECT_FALSE(applyFlush(badRules).ok());
  AclCommand t;
  t.op = AclCommand::Op::kSetToken;
  t.token.accessorId = "acc";
  t.token.secretId = "sec";
  t.token.policyIds = {"pid"};
  ASSERT_TRUE(applyFlush(t).ok());
  AclCommand reuse = t;
  reuse.token.accessorId = "acc2";
  EXPECT_FALSE(applyFlush(reuse).ok()) << "a SecretID in use";
  AclCommand unknownPolicy = t;
  unknownPolicy.token.accessorId = "acc3";
  unknownPolicy.token.secretId = "sec3";
  unknownPolicy.token.policyIds = {"nope"};
  EXPECT_FALSE(applyFlush(unknownPolicy).ok());
  auto v = cat->view();
  const Token* tok = v->acl->findBySecret("sec");
  ASSERT_NE(tok, nullptr);
  EXPECT_TRUE(v->acl->authorizerFor(*tok, A::kDeny).canRead(R::kService, "web"));

  AclCommand del;
  del.op = AclCommand::Op::kDeleteToken;
  del.id = "acc";
  ASSERT_TRUE(applyFlush(del).ok());
  EXPECT_EQ(cat->view()->acl->findBySecret("sec"), nullptr);
  EXPECT_EQ(applyFlush(del).error().code, ErrorCode::kNotFound);
  del.id = std::string(kAnonymousAccessorId);
  EXPECT_FALSE(applyFlush(del).ok());
  AclCommand delMgmt;
  delMgmt.op = AclCommand::Op::kDeletePolicy;
  delMgmt.id = std::string(kManagementPolicyId);
  EXPECT_FALSE(applyFlush(delMgmt).ok());
}

TEST_F(AclStateTest, SurvivesReloadSnapshotAndCommandEncoding) {
  ASSERT_TRUE(applyFlush(bootstrap("root")).ok());
  // The command round-trips through its encoding, at version 4.
  AclCommand t = bootstrap("x");
  EXPECT_EQ(commandVersion(t), 4u);
  auto decoded = decodeCommand(encodeCommand(t));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<AclCommand>(*decoded).token.secretId, "x");
  // Reopened from the store.
  auto reopened = Catalog::open(store);
  ASSERT_TRUE(reopened.ok());
  ASSERT_TRUE((*reopened)->view()->acl);
  EXPECT_NE((*reopened)->view()->acl->findBySecret("root"), nullptr);
  // Carried by a snapshot.
  auto rows = parseSnapshot(serializeView(*cat->view()));
  ASSERT_TRUE(rows.ok());
  bool found = false;
  for (const auto& r : *rows)
    if (r.key == kAclStateRowKey) found = decodeAclState(r.value).value().bootstrapped;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace cairn::registry::acl
