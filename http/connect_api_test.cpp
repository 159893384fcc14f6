// The mesh's HTTP endpoints over a real catalog: CA roots, leaf
// certificates (cache, renewal, blocking), rotation, authorize, intentions
// and /v1/health/connect.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/api.hpp"
#include "http/connect_json.hpp"
#include "http/test_support.hpp"
#include "registry/ca_certs.hpp"
#include "registry/ca_plan.hpp"

namespace cairn::http {
namespace {

namespace json = boost::json;

constexpr int64_t kT0 = 1'700'000'000;

class ConnectApiTest : public ::testing::Test {
 protected:
  ConnectApiTest()
      : api(rep.catalog().watches(), rep,
            AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, "0.1.0"}, options()) {
    registry::RegisterCommand self;
    self.node.name = "node1";
    self.node.address = "10.0.0.1";
    propose(self);
  }

  ApiOptions options() {
    ApiOptions o;
    o.connect.now = [this] { return now; };
    return o;
  }

  void propose(const registry::Command& c) {
    rep.propose(registry::encodeCommand(c),
                [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()) << r.error().message; });
  }

  void bootstrap() {
    auto c = registry::planBootstrap("0f0e0d0c-1111-4222-8333-444455556666", now);
    ASSERT_TRUE(c.ok());
    propose(*c);
  }

  Outcome outcome(std::string method, std::string target, std::string body = "") {
    return api.handle(testing::requestFor(std::move(method), target, std::move(body)));
  }

  Response call(std::string method, std::string target, std::string body = "") {
    if (auto r = testing::answerOf(outcome(std::move(method), target, std::move(body)))) return *r;
    ADD_FAILURE() << "unexpected blocking outcome for " << target;
    return {};
  }

  json::value jsonOf(std::string method, std::string target, std::string body = "",
                     int want = 200) {
    Response r = call(std::move(method), target, std::move(body));
    EXPECT_EQ(r.status, want) << target << ": " << r.body;
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    return ec ? json::value() : v;
  }

  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }

  int64_t now = kT0;
  testing::SyncReplicator rep;
  Api api;
};

TEST_F(ConnectApiTest, RootsAreEmptyAndLeavesRefusedBeforeBootstrap) {
  auto roots = jsonOf("GET", "/v1/agent/connect/ca/roots").as_object();
  EXPECT_EQ(roots.at("ActiveRootID").as_string(), "");
  EXPECT_TRUE(roots.at("Roots").as_array().empty());
  EXPECT_EQ(call("GET", "/v1/agent/connect/ca/leaf/web").status, 500);
}

TEST_F(ConnectApiTest, RootsShowTheActiveRootWithoutItsKey) {
  bootstrap();
  Response r = call("GET", "/v1/agent/connect/ca/roots");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("PRIVATE KEY"), std::string::npos);
  auto roots = json::parse(r.body).as_object();
  EXPECT_EQ(roots.at("TrustDomain").as_string(), "0f0e0d0c-1111-4222-8333-444455556666.consul");
  auto list = roots.at("Roots").as_array();
  ASSERT_EQ(list.size(), 1u);
  auto root = list[0].as_object();
  EXPECT_EQ(root.at("ID").as_string(), roots.at("ActiveRootID").as_string());
  EXPECT_TRUE(root.at("Active").as_bool());
  EXPECT_TRUE(root.at("IntermediateCerts").as_array().empty());
  for (const char* k : {"Name", "SerialNumber", "SigningKeyID", "NotBefore", "NotAfter", "RootCert",
                        "CreateIndex", "ModifyIndex"})
    EXPECT_TRUE(root.contains(k)) << k;
  EXPECT_NE(header(r, "X-Consul-Index"), "");
  // The same under /v1/connect, and as a PEM chain.
  EXPECT_EQ(call("GET", "/v1/connect/ca/roots").body, r.body);
  Response pem = call("GET", "/v1/connect/ca/roots?pem=true");
  EXPECT_EQ(pem.contentType, "application/pem-certificate-chain");
  EXPECT_EQ(pem.body, root.at("RootCert").as_string());
  auto cfg = jsonOf("GET", "/v1/connect/ca/configuration").as_object();
  EXPECT_EQ(cfg.at("Provider").as_string(), "consul");
  EXPECT_EQ(cfg.at("ClusterID").as_string(), "0f0e0d0c-1111-4222-8333-444455556666");
}

TEST_F(ConnectApiTest, LeafIsCachedUntilHalfLifeThenRenewed) {
  bootstrap();
  Response first = call("GET", "/v1/agent/connect/ca/leaf/web");
  ASSERT_EQ(first.status, 200) << first.body;
  auto leaf = json::parse(first.body).as_object();
  std::string uri =
      "spiffe://0f0e0d0c-1111-4222-8333-444455556666.consul/ns/default/dc/dc1/svc/web";
  EXPECT_EQ(leaf.at("ServiceURI").as_string(), uri);
  EXPECT_EQ(leaf.at("Service").as_string(), "web");
  std::string pem(leaf.at("CertPEM").as_string());
  auto uris = registry::certUris(pem);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{uri});
  auto facts = registry::inspectCert(pem);
  EXPECT_EQ(facts->notBefore, kT0 - 60);
  EXPECT_EQ(facts->notAfter, kT0 + 72 * 3600);
  EXPECT_EQ(leaf.at("ValidBefore").as_string(), rfc3339(kT0 + 72 * 3600));
  EXPECT_NE(std::string(leaf.at("PrivateKeyPEM").as_string()).find("PRIVATE KEY"),
            std::string::npos);

  // Same certificate while young.
  now = kT0 + 36 * 3600 - 1;
  Response again = call("GET", "/v1/agent/connect/ca/leaf/web");
  EXPECT_EQ(json::parse(again.body).at("SerialNumber"), leaf.at("SerialNumber"));
  EXPECT_EQ(header(again, "X-Consul-Index"), header(first, "X-Consul-Index"));
  // Another service gets its own.
  auto db = jsonOf("GET", "/v1/agent/connect/ca/leaf/db").as_object();
  EXPECT_NE(db.at("SerialNumber"), leaf.at("SerialNumber"));

  // Half of its 72 h over: a new one, with a higher index.
  now = kT0 + 36 * 3600;
  Response renewed = call("GET", "/v1/agent/connect/ca/leaf/web");
  EXPECT_NE(json::parse(renewed.body).at("SerialNumber"), leaf.at("SerialNumber"));
  EXPECT_GT(std::stoull(header(renewed, "X-Consul-Index")),
            std::stoull(header(first, "X-Consul-Index")));
}

TEST_F(ConnectApiTest, LeafBlockingQueryWaitsUntilRenewalIsDue) {
  bootstrap();
  Response first = call("GET", "/v1/agent/connect/ca/leaf/web");
  std::string idx = header(first, "X-Consul-Index");
  // Another index: answers at once.
  EXPECT_TRUE(std::holds_alternative<Response>(
      outcome("GET", "/v1/agent/connect/ca/leaf/web?index=" + idx + "1")));
  // Its own index: blocks, for no longer than until renewal is due (half
  // way from signing to ValidBefore: kT0 + 36 h).
  now = kT0 + 36 * 3600 - 10;
  Outcome o = outcome("GET", "/v1/agent/connect/ca/leaf/web?index=" + idx + "&wait=10m");
  auto* b = std::get_if<Blocking>(&o);
  ASSERT_NE(b, nullptr);
  EXPECT_LE(b->wait, std::chrono::milliseconds(10'000 + 60));
  EXPECT_GE(b->wait, std::chrono::milliseconds(9'000));
  EXPECT_FALSE(b->ready(*rep.catalog().view()));
  // The wait over, the render is the renewed leaf.
  now = kT0 + 36 * 3600;
  Response r = b->render();
  EXPECT_NE(json::parse(r.body).at("SerialNumber"), json::parse(first.body).at("SerialNumber"));

  // A rotation makes a waiting query ready at once.
  Outcome o2 = outcome(
      "GET", "/v1/agent/connect/ca/leaf/web?index=" + header(r, "X-Consul-Index") + "&wait=10m");
  auto* b2 = std::get_if<Blocking>(&o2);
  ASSERT_NE(b2, nullptr);
  EXPECT_EQ(b2->keys, std::vector<std::string>{std::string(registry::kCaTableKey)});
  ASSERT_EQ(call("POST", "/v1/connect/ca/rotate").status, 200);
  EXPECT_TRUE(b2->ready(*rep.catalog().view()));
}

TEST_F(ConnectApiTest, RotationKeepsTheOldRootAndCrossSignsTheNew) {
  bootstrap();
  auto before = jsonOf("GET", "/v1/agent/connect/ca/roots").as_object();
  auto oldLeaf = jsonOf("GET", "/v1/agent/connect/ca/leaf/web").as_object();
  ASSERT_EQ(call("PUT", "/v1/connect/ca/configuration", R"({"Provider":"consul"})").status, 200);
  auto after = jsonOf("GET", "/v1/agent/connect/ca/roots").as_object();
  EXPECT_NE(after.at("ActiveRootID"), before.at("ActiveRootID"));
  EXPECT_EQ(after.at("TrustDomain"), before.at("TrustDomain"));
  auto roots = after.at("Roots").as_array();
  ASSERT_EQ(roots.size(), 2u);
  EXPECT_FALSE(roots[0].at("Active").as_bool());
  EXPECT_EQ(roots[0].at("ID"), before.at("ActiveRootID"));
  EXPECT_TRUE(roots[1].at("Active").as_bool());
  ASSERT_EQ(roots[1].at("IntermediateCerts").as_array().size(), 1u);
  // The cached leaf was signed by the old root: a new one now.
  auto newLeaf = jsonOf("GET", "/v1/agent/connect/ca/leaf/web").as_object();
  EXPECT_NE(newLeaf.at("SerialNumber"), oldLeaf.at("SerialNumber"));
  auto facts = registry::inspectCert(std::string(newLeaf.at("CertPEM").as_string()));
  EXPECT_EQ(facts->authorityKeyId, std::string(roots[1].at("SigningKeyID").as_string()));
  EXPECT_EQ(call("PUT", "/v1/connect/ca/configuration", R"({"Provider":"vault"})").status, 400);
}

TEST_F(ConnectApiTest, AuthorizeFollowsIntentionsAndTheDefault) {
  bootstrap();
  std::string td = "0f0e0d0c-1111-4222-8333-444455556666.consul";
  auto authorize = [&](std::string target, std::string uri) {
    return jsonOf("POST", "/v1/agent/connect/authorize",
                  R"({"Target":")" + target + R"(","ClientCertURI":")" + uri + R"("})")
        .as_object();
  };
  std::string web = "spiffe://" + td + "/ns/default/dc/dc1/svc/web";
  auto a = authorize("db", web);
  EXPECT_TRUE(a.at("Authorized").as_bool());
  EXPECT_NE(std::string(a.at("Reason").as_string()).find("Default"), std::string::npos);

  ASSERT_EQ(call("POST", "/v1/connect/intentions",
                 R"({"SourceName":"*","DestinationName":"db","Action":"deny"})")
                .status,
            200);
  EXPECT_FALSE(authorize("db", web).at("Authorized").as_bool());
  ASSERT_EQ(
      call("PUT", "/v1/connect/intentions/exact?source=web&destination=db", R"({"Action":"allow"})")
          .status,
      200);
  a = authorize("db", web);
  EXPECT_TRUE(a.at("Authorized").as_bool());
  EXPECT_EQ(a.at("Reason").as_string(), "Matched L4 intention: web => db (allow)");
  EXPECT_FALSE(
      authorize("db", "spiffe://" + td + "/ns/default/dc/dc1/svc/api").at("Authorized").as_bool());
  // Another trust domain is never authorized.
  a = authorize("db", "spiffe://other.consul/ns/default/dc/dc1/svc/web");
  EXPECT_FALSE(a.at("Authorized").as_bool());
  EXPECT_EQ(call("POST", "/v1/agent/connect/authorize",
                 R"({"Target":"db","ClientCertURI":"https://web"})")
                .status,
            400);
  EXPECT_EQ(
      call("POST", "/v1/agent/connect/authorize", R"({"ClientCertURI":")" + web + "\"}").status,
      400);
}

TEST_F(ConnectApiTest, IntentionsLegacyAndExactApis) {
  auto created = jsonOf("POST", "/v1/connect/intentions",
                        R"({"SourceName":"web","DestinationName":"db","Action":"allow",
                            "Description":"d","Meta":{"team":"a"}})")
                     .as_object();
  std::string id(created.at("ID").as_string());
  EXPECT_EQ(id.size(), 36u);
  auto got = jsonOf("GET", "/v1/connect/intentions/" + id).as_object();
  EXPECT_EQ(got.at("SourceName").as_string(), "web");
  EXPECT_EQ(got.at("Action").as_string(), "allow");
  EXPECT_EQ(got.at("Precedence").as_int64(), 9);
  EXPECT_EQ(got.at("Meta").at("team").as_string(), "a");
  // A second one for the same pair is a duplicate.
  EXPECT_EQ(call("POST", "/v1/connect/intentions",
                 R"({"SourceName":"web","DestinationName":"db","Action":"deny"})")
                .status,
            400);
  EXPECT_EQ(call("POST", "/v1/connect/intentions",
                 R"({"SourceName":"web","DestinationName":"db","Action":"maybe"})")
                .status,
            400);
  // Update by ID.
  ASSERT_EQ(call("PUT", "/v1/connect/intentions/" + id,
                 R"({"SourceName":"web","DestinationName":"db","Action":"deny"})")
                .status,
            200);
  EXPECT_EQ(jsonOf("GET", "/v1/connect/intentions/" + id).at("Action").as_string(), "deny");
  EXPECT_EQ(call("PUT", "/v1/connect/intentions/nope",
                 R"({"SourceName":"a","DestinationName":"b","Action":"deny"})")
                .status,
            404);
  // Exact: same intention by names; upsert keeps the ID.
  auto exact = jsonOf("GET", "/v1/connect/intentions/exact?source=web&destination=db").as_object();
  EXPECT_EQ(exact.at("ID").as_string(), id);
  ASSERT_EQ(
      call("PUT", "/v1/connect/intentions/exact?source=web&destination=db", R"({"Action":"allow"})")
          .status,
      200);
  EXPECT_EQ(jsonOf("GET", "/v1/connect/intentions/" + id).at("Action").as_string(), "allow");
  ASSERT_EQ(
      call("PUT", "/v1/connect/intentions/exact?source=*&destination=*", R"({"Action":"deny"})")
          .status,
      200);
  EXPECT_EQ(call("GET", "/v1/connect/intentions/exact?source=web").status, 400);
  EXPECT_EQ(call("GET", "/v1/connect/intentions/exact?source=x&destination=y").status, 404);
  // Listed in precedence order.
  auto list = jsonOf("GET", "/v1/connect/intentions").as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("ID").as_string(), id);
  EXPECT_EQ(list[1].at("Precedence").as_int64(), 5);
  // Check.
  EXPECT_TRUE(jsonOf("GET", "/v1/connect/intentions/check?source=web&destination=db")
                  .at("Allowed")
                  .as_bool());
  EXPECT_FALSE(jsonOf("GET", "/v1/connect/intentions/check?source=api&destination=db")
                   .at("Allowed")
                   .as_bool());
  // Delete by names and by ID.
  ASSERT_EQ(call("DELETE", "/v1/connect/intentions/exact?source=*&destination=*").status, 200);
  EXPECT_TRUE(jsonOf("GET", "/v1/connect/intentions/check?source=api&destination=db")
                  .at("Allowed")
                  .as_bool());
  ASSERT_EQ(call("DELETE", "/v1/connect/intentions/" + id).status, 200);
  EXPECT_EQ(call("GET", "/v1/connect/intentions/" + id).status, 404);
  EXPECT_EQ(call("DELETE", "/v1/connect/intentions/" + id).status, 404);
  EXPECT_TRUE(jsonOf("GET", "/v1/connect/intentions").as_array().empty());
}

TEST_F(ConnectApiTest, MeshWritesWaitForEveryServerToKnowThem) {
  rep.commandVersion = 3;
  auto r = call("POST", "/v1/connect/intentions",
                R"({"SourceName":"web","DestinationName":"db","Action":"allow"})");
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("command version 4"), std::string::npos) << r.body;
  EXPECT_TRUE(rep.catalog().view()->intentions.empty());
}

TEST_F(ConnectApiTest, HealthConnectListsProxiesAndNativeInstances) {
  ASSERT_EQ(
      call("PUT", "/v1/agent/service/register", R"({"Name":"web","ID":"web1","Port":8080})").status,
      200);
  ASSERT_EQ(call("PUT", "/v1/agent/service/register",
                 R"({"Name":"web-sidecar-proxy","ID":"web1-proxy","Kind":"connect-proxy",
                     "Port":21000,"Proxy":{"DestinationServiceName":"web",
                     "DestinationServiceID":"web1","LocalServicePort":8080,
                     "Upstreams":[{"DestinationName":"db","LocalBindPort":9191,
                                   "Config":{"policy":"least_request"}}]}})")
                .status,
            200);
  ASSERT_EQ(call("PUT", "/v1/agent/service/register",
                 R"({"Name":"api","ID":"api1","Port":9000,"Connect":{"Native":true}})")
                .status,
            200);
  Response r = call("GET", "/v1/health/connect/web");
  ASSERT_EQ(r.status, 200);
  auto entries = json::parse(r.body).as_array();
  ASSERT_EQ(entries.size(), 1u);
  auto svc = entries[0].at("Service").as_object();
  EXPECT_EQ(svc.at("ID").as_string(), "web1-proxy");
  EXPECT_EQ(svc.at("Kind").as_string(), "connect-proxy");
  EXPECT_EQ(svc.at("Port").as_int64(), 21000);
  auto proxy = svc.at("Proxy").as_object();
  EXPECT_EQ(proxy.at("DestinationServiceName").as_string(), "web");
  EXPECT_EQ(proxy.at("LocalServicePort").as_int64(), 8080);
  EXPECT_EQ(proxy.at("Upstreams").as_array()[0].at("Config").at("policy").as_string(),
            "least_request");
  uint64_t idx = std::stoull(header(r, "X-Consul-Index"));
  auto native = jsonOf("GET", "/v1/health/connect/api").as_array();
  ASSERT_EQ(native.size(), 1u);
  EXPECT_TRUE(native[0].at("Service").at("Connect").at("Native").as_bool());
  EXPECT_TRUE(jsonOf("GET", "/v1/health/connect/db").as_array().empty());
  // The proxy shows in the agent's and catalog's own answers too.
  auto agent = jsonOf("GET", "/v1/agent/services").as_object();
  EXPECT_EQ(agent.at("web1-proxy").at("Proxy").at("DestinationServiceID").as_string(), "web1");
  auto cat = jsonOf("GET", "/v1/catalog/service/web-sidecar-proxy").as_array();
  EXPECT_EQ(cat[0].at("ServiceProxy").at("DestinationServiceName").as_string(), "web");

  // A blocking query on web wakes when the proxy's health changes.
  Outcome o = outcome("GET", "/v1/health/connect/web?index=" + std::to_string(idx) + "&wait=1m");
  auto* b = std::get_if<Blocking>(&o);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->ready(*rep.catalog().view()));
  ASSERT_EQ(call("PUT", "/v1/agent/check/register",
                 R"({"Name":"p","CheckID":"p","ServiceID":"web1-proxy","TTL":"10s"})")
                .status,
            200);
  EXPECT_TRUE(b->ready(*rep.catalog().view()));
  EXPECT_NE(std::find(b->keys.begin(), b->keys.end(), "s:web-sidecar-proxy"), b->keys.end());
  EXPECT_TRUE(jsonOf("GET", "/v1/health/connect/web?passing").as_array().empty());

  // A proxy needs its destination.
  EXPECT_EQ(
      call("PUT", "/v1/agent/service/register", R"({"Name":"p2","Kind":"connect-proxy","Port":1})")
          .status,
      400);
}

}  // namespace
}  // namespace cairn::http
