// ACL enforcement through the API: every endpoint family with no token, a
// read token, a write token for another prefix, and a management token.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/api.hpp"
#include "http/test_support.hpp"

namespace cairn::http {
namespace {

namespace json = boost::json;
using registry::acl::Access;

class AclApiTest : public ::testing::Test {
 protected:
  explicit AclApiTest(Access def = Access::kDeny) : api(makeApi(def)) {
    registry::RegisterCommand self;
    self.node.name = "node1";
    self.node.address = "10.0.0.1";
    registry::Service web;
    web.name = "web";
    web.id = "web1";
    web.port = 80;
    self.service = web;
    rep.propose(registry::encodeCommand(self), [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()); });
    registry::RegisterCommand db;
    db.node.name = "db-host";
    db.node.address = "10.0.0.2";
    registry::Service s;
    s.name = "db";
    s.id = "db1";
    db.service = s;
    rep.propose(registry::encodeCommand(db), [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()); });
  }

  std::unique_ptr<Api> makeApi(Access def) {
    ApiOptions o;
    o.acl.enabled = true;
    o.acl.defaultAccess = def;
    return std::make_unique<Api>(rep.catalog().watches(), rep,
                                 AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, "0.1.0"},
                                 o);
  }

  Response call(const std::string& method, const std::string& target, const std::string& token,
                std::string body = "", const std::string& how = "header") {
    Request req = testing::requestFor(method, target, std::move(body));
    if (!token.empty()) {
      if (how == "header") req.headers["x-consul-token"] = token;
      if (how == "bearer") req.headers["authorization"] = "Bearer " + token;
      if (how == "query") req.query.emplace_back("token", token);
    }
    std::optional<Response> answer = testing::answerOf(api->handle(req));
    if (!answer) ADD_FAILURE() << "blocking outcome for " << target;
    Response got = answer.value_or(Response{});
    // Text bodies end in a newline; compare without it.
    if (got.contentType.starts_with("text/plain") && !got.body.empty() && got.body.back() == '\n')
      got.body.pop_back();
    return got;
  }

  static bool filtered(const Response& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "X-Consul-Results-Filtered-By-ACLs" && v == "true") return true;
    return false;
  }
  static json::value body(const Response& r) { return json::parse(r.body); }

  // Bootstraps and makes: a read-everything token, and a token that may
  // write services and nodes starting "db" (and read nothing else).
  void setUpTokens() {
    auto b = call("PUT", "/v1/acl/bootstrap", "");
    ASSERT_EQ(b.status, 200) << b.body;
    mgmt = std::string(body(b).at("SecretID").as_string());
    auto p1 = call(
        "PUT", "/v1/acl/policy", mgmt,
        R"({"Name":"read-all","Rules":"service_prefix \"\" { policy = \"read\" }\nnode_prefix \"\" { policy = \"read\" }"})");
    ASSERT_EQ(p1.status, 200) << p1.body;
    auto p2 = call(
        "PUT", "/v1/acl/policy", mgmt,
        R"({"Name":"db-write","Rules":"{\"service_prefix\":{\"db\":{\"policy\":\"write\"}},\"node_prefix\":{\"db\":{\"policy\":\"write\"}}}"})");
    ASSERT_EQ(p2.status, 200) << p2.body;
    auto t1 = call("PUT", "/v1/acl/token", mgmt, R"({"Policies":[{"Name":"read-all"}]})");
    ASSERT_EQ(t1.status, 200) << t1.body;
    readTok = std::string(body(t1).at("SecretID").as_string());
    readAccessor = std::string(body(t1).at("AccessorID").as_string());
    auto t2 = call("PUT", "/v1/acl/token", mgmt,
                   R"({"Description":"db","Policies":[{"ID":")" +
                       std::string(body(p2).at("ID").as_string()) + R"("}]})");
    ASSERT_EQ(t2.status, 200) << t2.body;
    dbTok = std::string(body(t2).at("SecretID").as_string());
    dbAccessor = std::string(body(t2).at("AccessorID").as_string());
  }

  testing::SyncReplicator rep;
  std::unique_ptr<Api> api;
  std::string mgmt, readTok, readAccessor, dbTok, dbAccessor;
};

TEST_F(AclApiTest, BootstrapOnlyOnce) {
  auto b = call("PUT", "/v1/acl/bootstrap", "");
  ASSERT_EQ(b.status, 200) << b.body;
  auto j = body(b).as_object();
  EXPECT_EQ(j.at("SecretID").as_string().size(), 36u);
  EXPECT_EQ(j.at("AccessorID").as_string().size(), 36u);
  EXPECT_EQ(j.at("Policies").as_array().at(0).at("Name").as_string(), "global-management");
  auto again = call("PUT", "/v1/acl/bootstrap", "");
  EXPECT_EQ(again.status, 403);
  EXPECT_EQ(again.body, "ACL bootstrap no longer allowed");
  // Even with the management token.
  EXPECT_EQ(call("PUT", "/v1/acl/bootstrap", std::string(j.at("SecretID").as_string())).status,
            403);
}

TEST_F(AclApiTest, BeforeBootstrapDefaultDenyShowsNothing) {
  auto r = call("GET", "/v1/catalog/services", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{}");
  EXPECT_TRUE(filtered(r));
  auto w = call("PUT", "/v1/catalog/register", "", R"({"Node":"x","Address":"1.2.3.4"})");
  EXPECT_EQ(w.status, 403);
}

TEST_F(AclApiTest, TokenSourcesAndUnknownToken) {
  setUpTokens();
  for (const char* how : {"header", "bearer", "query"}) {
    auto r = call("GET", "/v1/catalog/services", readTok, "", how);
    EXPECT_EQ(r.status, 200) << how;
    EXPECT_FALSE(filtered(r)) << how;
    EXPECT_TRUE(body(r).as_object().contains("web")) << how;
  }
  auto bad = call("GET", "/v1/catalog/services", "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(bad.status, 403);
  EXPECT_EQ(bad.body, "ACL not found");
}

TEST_F(AclApiTest, CatalogFamily) {
  setUpTokens();
  // Reads: the list shrinks to what the token may see.
  auto anon = call("GET", "/v1/catalog/services", "");
  EXPECT_EQ(anon.body, "{}");
  EXPECT_TRUE(filtered(anon));
  auto rd = call("GET", "/v1/catalog/services", readTok);
  EXPECT_EQ(body(rd).as_object().size(), 2u);
  EXPECT_FALSE(filtered(rd));
  auto db = call("GET", "/v1/catalog/services", dbTok);
  EXPECT_EQ(body(db).as_object().size(), 1u);
  EXPECT_TRUE(body(db).as_object().contains("db"));
  EXPECT_TRUE(filtered(db));
  EXPECT_EQ(body(call("GET", "/v1/catalog/nodes", dbTok)).as_array().size(), 1u);
  EXPECT_EQ(body(call("GET", "/v1/catalog/nodes", mgmt)).as_array().size(), 2u);
  EXPECT_EQ(body(call("GET", "/v1/catalog/service/web", dbTok)).as_array().size(), 0u);
  EXPECT_EQ(body(call("GET", "/v1/catalog/service/web", readTok)).as_array().size(), 1u);
  EXPECT_EQ(call("GET", "/v1/catalog/node/node1", dbTok).body, "null");

  // Writes: the permission named in Consul's words.
  std::string reg =
      R"({"Node":"web-node","Address":"10.0.0.9","Service":{"Service":"web","ID":"w9"}})";
  auto none = call("PUT", "/v1/catalog/register", "", reg);
  EXPECT_EQ(none.status, 403);
  EXPECT_EQ(none.body,
            "Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' "
            "lacks permission 'node:write' on \"web-node\"");
  EXPECT_EQ(call("PUT", "/v1/catalog/register", readTok, reg).status, 403);
  auto other = call("PUT", "/v1/catalog/register", dbTok, reg);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(other.body, "Permission denied: token with AccessorID '" + dbAccessor +
                            "' lacks permission 'node:write' on \"web-node\"");
  // A node it may write, but a service it may not.
  auto svc =
      call("PUT", "/v1/catalog/register", dbTok,
           R"({"Node":"db-node","Address":"10.0.0.9","Service":{"Service":"web","ID":"w9"}})");
  EXPECT_EQ(svc.status, 403);
  EXPECT_NE(svc.body.find("'service:write' on \"web\""), std::string::npos) << svc.body;
  EXPECT_EQ(
      call("PUT", "/v1/catalog/register", dbTok,
           R"({"Node":"db-node","Address":"10.0.0.9","Service":{"Service":"db-2","ID":"d2"}})")
          .status,
      200);
  EXPECT_EQ(call("PUT", "/v1/catalog/register", mgmt, reg).status, 200);
  // Deregister: the owner of what goes.
  std::string dereg = R"({"Node":"node1","ServiceID":"web1"})";
  EXPECT_EQ(call("PUT", "/v1/catalog/deregister", "", dereg).status, 403);
  EXPECT_EQ(call("PUT", "/v1/catalog/deregister", readTok, dereg).status, 403);
  EXPECT_EQ(call("PUT", "/v1/catalog/deregister", dbTok, dereg).status, 403);
  EXPECT_EQ(call("PUT", "/v1/catalog/deregister", dbTok, R"({"Node":"db-host","ServiceID":"db1"})")
                .status,
            200);
  EXPECT_EQ(call("PUT", "/v1/catalog/deregister", mgmt, dereg).status, 200);
}

TEST_F(AclApiTest, HealthFamily) {
  setUpTokens();
  EXPECT_EQ(body(call("GET", "/v1/health/service/web", "")).as_array().size(), 0u);
  EXPECT_EQ(body(call("GET", "/v1/health/service/web", readTok)).as_array().size(), 1u);
  EXPECT_EQ(body(call("GET", "/v1/health/service/web", dbTok)).as_array().size(), 0u);
  EXPECT_EQ(body(call("GET", "/v1/health/service/db", dbTok)).as_array().size(), 1u);
  // An instance shows only with node:read on its node as well.
  std::string tok;
  {
    auto p = call("PUT", "/v1/acl/policy", mgmt,
                  R"({"Name":"db-only","Rules":"service \"db\" { policy = \"read\" }"})");
    ASSERT_EQ(p.status, 200) << p.body;
    auto t = call("PUT", "/v1/acl/token", mgmt, R"({"Policies":[{"Name":"db-only"}]})");
    tok = std::string(body(t).at("SecretID").as_string());
  }
  auto dbOnly = call("GET", "/v1/health/service/db", tok);
  // (The same query by another token just before: no cached answer leaks.)
  EXPECT_EQ(body(dbOnly).as_array().size(), 0u) << dbOnly.body;
  EXPECT_EQ(body(call("GET", "/v1/health/service/web", mgmt)).as_array().size(), 1u);
}

TEST_F(AclApiTest, AgentFamily) {
  setUpTokens();
  std::string reg = R"({"Name":"web","ID":"web2","Port":81})";
  EXPECT_EQ(call("PUT", "/v1/agent/service/register", "", reg).status, 403);
  EXPECT_EQ(call("PUT", "/v1/agent/service/register", readTok, reg).status, 403);
  auto other = call("PUT", "/v1/agent/service/register", dbTok, reg);
  EXPECT_EQ(other.status, 403);
  EXPECT_NE(other.body.find("'service:write' on \"web\""), std::string::npos);
  // The agent's own node needs no node:write for its services.
  EXPECT_EQ(
      call("PUT", "/v1/agent/service/register", dbTok, R"({"Name":"db-agent","ID":"da"})").status,
      200);
  EXPECT_EQ(call("PUT", "/v1/agent/service/register", mgmt, reg).status, 200);
  EXPECT_EQ(call("PUT", "/v1/agent/service/deregister/web2", dbTok).status, 403);
  EXPECT_EQ(call("PUT", "/v1/agent/service/deregister/web2", mgmt).status, 200);
  // agent:read on the agent's node.
  EXPECT_EQ(call("GET", "/v1/agent/self", "").status, 403);
  EXPECT_EQ(call("GET", "/v1/agent/self", readTok).status, 403);
  EXPECT_EQ(call("GET", "/v1/agent/self", dbTok).status, 403);
  EXPECT_EQ(call("GET", "/v1/agent/self", mgmt).status, 200);
  // Agent service lists are filtered.
  auto mine = call("GET", "/v1/agent/services", dbTok);
  EXPECT_EQ(body(mine).as_object().size(), 0u) << "node1 is not readable by the db token";
  EXPECT_EQ(body(call("GET", "/v1/agent/services", readTok)).as_object().size(), 2u);
}

TEST_F(AclApiTest, OperatorAndSnapshot) {
  setUpTokens();
  for (const auto& tok : {std::string(), readTok, dbTok})
    EXPECT_EQ(call("GET", "/v1/operator/raft/configuration", tok).status, 403);
  EXPECT_EQ(call("GET", "/v1/operator/raft/configuration", mgmt).status, 200);
  call("PUT", "/v1/acl/policy", mgmt, R"({"Name":"op","Rules":"operator = \"read\""})");
  auto t = call("PUT", "/v1/acl/token", mgmt, R"({"Policies":[{"Name":"op"}]})");
  std::string opTok(body(t).at("SecretID").as_string());
  EXPECT_EQ(call("GET", "/v1/operator/raft/configuration", opTok).status, 200);
  EXPECT_EQ(call("POST", "/v1/operator/raft/transfer-leader", opTok).status, 403);
  EXPECT_EQ(call("GET", "/v1/snapshot", readTok).status, 403);
  EXPECT_EQ(call("GET", "/v1/snapshot", opTok).status, 403);
}

TEST_F(AclApiTest, AclFamily) {
  setUpTokens();
  for (const auto& tok : {std::string(), readTok, dbTok}) {
    EXPECT_EQ(call("GET", "/v1/acl/policies", tok).status, 403);
    EXPECT_EQ(call("GET", "/v1/acl/tokens", tok).status, 403);
    EXPECT_EQ(call("PUT", "/v1/acl/policy", tok, R"({"Name":"x"})").status, 403);
    EXPECT_EQ(call("PUT", "/v1/acl/token", tok, R"({})").status, 403);
  }
  auto pols = call("GET", "/v1/acl/policies", mgmt);
  ASSERT_EQ(pols.status, 200);
  EXPECT_EQ(body(pols).as_array().size(), 3u);  // global-management, read-all, db-write
  auto toks = call("GET", "/v1/acl/tokens", mgmt);
  EXPECT_EQ(body(toks).as_array().size(), 4u);  // anonymous, management, read, db
  // acl:read sees tokens without their secrets.
  call("PUT", "/v1/acl/policy", mgmt, R"({"Name":"acl-read","Rules":"acl = \"read\""})");
  auto ar = call("PUT", "/v1/acl/token", mgmt, R"({"Policies":[{"Name":"acl-read"}]})");
  std::string aclRead(body(ar).at("SecretID").as_string());
  auto listed = call("GET", "/v1/acl/tokens", aclRead);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(mgmt), std::string::npos);
  EXPECT_EQ(call("PUT", "/v1/acl/token", aclRead, "{}").status, 403);
  // token/self works for any valid token.
  auto self = call("GET", "/v1/acl/token/self", readTok);
  ASSERT_EQ(self.status, 200);
  EXPECT_EQ(body(self).at("AccessorID").as_string(), readAccessor);
  // Bad rules are refused.
  EXPECT_EQ(call("PUT", "/v1/acl/policy", mgmt, R"({"Name":"bad","Rules":"service {"})").status,
            400);
  // Policy read by ID and by name, update, delete.
  auto byName = call("GET", "/v1/acl/policy/name/read-all", mgmt);
  ASSERT_EQ(byName.status, 200);
  std::string pid(body(byName).at("ID").as_string());
  EXPECT_EQ(call("GET", "/v1/acl/policy/" + pid, mgmt).status, 200);
  EXPECT_EQ(call("PUT", "/v1/acl/policy/" + pid, mgmt,
                 R"({"Name":"read-all","Rules":"service_prefix \"\" { policy = \"read\" }"})")
                .status,
            200);
  // The read token lost node:read at once.
  EXPECT_EQ(body(call("GET", "/v1/catalog/nodes", readTok)).as_array().size(), 0u);
  EXPECT_EQ(call("DELETE", "/v1/acl/policy/" + pid, mgmt).body, "true");
  EXPECT_EQ(body(call("GET", "/v1/catalog/services", readTok)).as_object().size(), 0u);
}

TEST_F(AclApiTest, TokenDeletionTakesEffectAtOnce) {
  setUpTokens();
  EXPECT_EQ(call("GET", "/v1/catalog/services", readTok).status, 200);
  EXPECT_EQ(call("DELETE", "/v1/acl/token/" + readAccessor, readTok).status, 403);
  EXPECT_EQ(call("DELETE", "/v1/acl/token/" + readAccessor, mgmt).body, "true");
  auto gone = call("GET", "/v1/catalog/services", readTok);
  EXPECT_EQ(gone.status, 403);
  EXPECT_EQ(gone.body, "ACL not found");
  EXPECT_EQ(call("GET", "/v1/acl/token/" + readAccessor, mgmt).status, 404);
  EXPECT_EQ(call("DELETE", "/v1/acl/token/00000000-0000-0000-0000-000000000002", mgmt).status, 400);
}

TEST_F(AclApiTest, AnonymousTokenGainsRightsFromPolicies) {
  setUpTokens();
  auto self = call("GET", "/v1/acl/token/00000000-0000-0000-0000-000000000002", mgmt);
  ASSERT_EQ(self.status, 200) << self.body;
  auto pol = call("GET", "/v1/acl/policy/name/read-all", mgmt);
  std::string pid(body(pol).at("ID").as_string());
  EXPECT_EQ(call("PUT", "/v1/acl/token/00000000-0000-0000-0000-000000000002", mgmt,
                 R"({"Policies":[{"ID":")" + pid + R"("}]})")
                .status,
            200);
  EXPECT_EQ(body(call("GET", "/v1/catalog/services", "")).as_object().size(), 2u);
  // And DNS's view (the anonymous token's) shows the same.
  AclOptions o;
  o.enabled = true;
  o.defaultAccess = Access::kDeny;
  auto v = anonymousView(rep.catalog().view(), o);
  EXPECT_EQ(v->services.size(), 2u);
}

TEST_F(AclApiTest, DnsViewOfAnonymousWithDefaultDeny) {
  setUpTokens();
  AclOptions o;
  o.enabled = true;
  o.defaultAccess = Access::kDeny;
  auto v = anonymousView(rep.catalog().view(), o);
  EXPECT_EQ(v->services.size(), 0u);
  EXPECT_EQ(v->nodes.size(), 0u);
  o.defaultAccess = Access::kWrite;
  EXPECT_EQ(anonymousView(rep.catalog().view(), o)->services.size(), 2u);
}

class AclAllowTest : public AclApiTest {
 protected:
  AclAllowTest() : AclApiTest(Access::kWrite) {}
};

TEST_F(AclAllowTest, DefaultAllowLetsAnonymousDoEverything) {
  auto r = call("GET", "/v1/catalog/services", "");
  EXPECT_EQ(body(r).as_object().size(), 2u);
  EXPECT_FALSE(filtered(r));
  EXPECT_EQ(call("PUT", "/v1/catalog/register", "", R"({"Node":"x","Address":"1.2.3.4"})").status,
            200);
  setUpTokens();
  // A token's deny still bites under default allow.
  call("PUT", "/v1/acl/policy", mgmt,
       R"({"Name":"no-web","Rules":"service \"web\" { policy = \"deny\" }"})");
  auto t = call("PUT", "/v1/acl/token", mgmt, R"({"Policies":[{"Name":"no-web"}]})");
  std::string tok(body(t).at("SecretID").as_string());
  auto l = call("GET", "/v1/catalog/services", tok);
  EXPECT_FALSE(body(l).as_object().contains("web"));
  EXPECT_TRUE(body(l).as_object().contains("db"));
}

TEST(AclDisabled, AclEndpointsSayDisabled) {
  testing::SyncReplicator rep;
  Api api(rep.catalog().watches(), rep,
          AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, ""});
  Request req;
  req.method = "PUT";
  req.path = "/v1/acl/bootstrap";
  auto out = api.handle(req);
  ASSERT_TRUE(std::holds_alternative<Response>(out));
  EXPECT_EQ(std::get<Response>(out).status, 401);
}

TEST(AclCommandVersion, RefusedUntilEveryServerAppliesIt) {
  testing::SyncReplicator rep;
  rep.commandVersion = 3;
  ApiOptions o;
  o.acl.enabled = true;
  Api api(rep.catalog().watches(), rep, AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, ""},
          o);
  Request req;
  req.method = "PUT";
  req.path = "/v1/acl/bootstrap";
  auto out = api.handle(req);
  ASSERT_TRUE(std::holds_alternative<Response>(out));
  EXPECT_EQ(std::get<Response>(out).status, 500);
  EXPECT_NE(std::get<Response>(out).body.find("4: ACLs"), std::string::npos);
  EXPECT_FALSE(rep.catalog().view()->acl);
}

}  // namespace
}  // namespace cairn::http
