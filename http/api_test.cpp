#include "http/api.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/test_support.hpp"

namespace cairn::http {
namespace {

namespace json = boost::json;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : api(rep.catalog().watches(), rep,
            AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, "0.1.0"}) {
    registry::RegisterCommand self;
    self.node.name = "node1";
    self.node.address = "10.0.0.1";
    Status st;
    rep.propose(registry::encodeCommand(self), [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()); });
  }

  Response call(std::string method, std::string target, std::string body = "",
                std::string remote = "127.0.0.1") {
    Request req = testing::requestFor(std::move(method), target, std::move(body));
    req.remoteAddr = std::move(remote);
    if (auto r = testing::answerOf(api.handle(req))) return *r;
    ADD_FAILURE() << "unexpected blocking outcome for " << target;
    return {};
  }

  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (k == name) return v;
    return "";
  }

  testing::SyncReplicator rep;
  Api api;
};

TEST_F(ApiTest, AgentRegisterThenListEverywhere) {
  auto r = call("PUT", "/v1/agent/service/register",
                R"({"Name":"web","ID":"web1","Port":8080,"Tags":["v1"],"Check":{"TTL":"10s"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto services = json::parse(call("GET", "/v1/agent/services").body).as_object();
  ASSERT_TRUE(services.contains("web1"));
  EXPECT_EQ(services["web1"].at("Port").as_int64(), 8080);

  auto cat = call("GET", "/v1/catalog/service/web");
  EXPECT_EQ(cat.status, 200);
  auto arr = json::parse(cat.body).as_array();
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0].at("ServiceID").as_string(), "web1");
  EXPECT_EQ(arr[0].at("Node").as_string(), "node1");
  EXPECT_NE(header(cat, "X-Consul-Index"), "");
  EXPECT_EQ(header(cat, "X-Consul-KnownLeader"), "true");

  auto health = json::parse(call("GET", "/v1/health/service/web").body).as_array();
  ASSERT_EQ(health.size(), 1u);
  auto checks = health[0].at("Checks").as_array();
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].at("CheckID").as_string(), "service:web1");
  EXPECT_EQ(checks[0].at("Status").as_string(), "critical");
  EXPECT_EQ(checks[0].at("ServiceTags").as_array().size(), 1u);
  EXPECT_EQ(json::parse(call("GET", "/v1/health/service/web?passing").body).as_array().size(), 0u);

  ASSERT_EQ(call("PUT", "/v1/agent/check/pass/service:web1?note=fine").status, 200);
  auto passing = json::parse(call("GET", "/v1/health/service/web?passing").body).as_array();
  ASSERT_EQ(passing.size(), 1u);
  EXPECT_EQ(passing[0].at("Checks").as_array()[0].at("Output").as_string(), "fine");

  ASSERT_EQ(call("PUT", "/v1/agent/service/deregister/web1").status, 200);
  EXPECT_EQ(call("GET", "/v1/catalog/service/web").body, "[]");
}

TEST_F(ApiTest, CallerAddressBecomesServiceAddressUnlessLoopback) {
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name":"a"})", "10.1.2.3").status, 200);
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name":"b"})", "127.0.0.1").status, 200);
  auto s = json::parse(call("GET", "/v1/agent/services").body).as_object();
  EXPECT_EQ(s["a"].at("Address").as_string(), "10.1.2.3");
  EXPECT_EQ(s["b"].at("Address").as_string(), "");
}

TEST_F(ApiTest, UnknownServiceIsEmptyListWithIndex) {
  auto r = call("GET", "/v1/health/service/nope");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "[]");
  EXPECT_NE(header(r, "X-Consul-Index"), "0");
  EXPECT_NE(header(r, "X-Consul-Index"), "");
}

TEST_F(ApiTest, NotFoundAndWrongMethod) {
  EXPECT_EQ(call("GET", "/v1/nope").status, 404);
  auto r = call("POST", "/v1/agent/service/register", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "PUT");
  EXPECT_EQ(call("PUT", "/v1/catalog/services").status, 405);
  EXPECT_EQ(call("PUT", "/v1/agent/service/deregister/missing").status, 404);
  EXPECT_EQ(call("PUT", "/v1/agent/check/pass/missing").status, 404);
  auto nf = call("GET", "/v1/agent/service/missing");
  EXPECT_EQ(nf.status, 404);
  EXPECT_NE(header(nf, "X-Consul-Index"), "") << "404s carry the index too";
}

TEST_F(ApiTest, BadBodiesAre400WithReason) {
  auto r = call("PUT", "/v1/agent/service/register", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("decode"), std::string::npos) << r.body;
  r = call("PUT", "/v1/agent/service/register", R"({"Name": 5})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Name"), std::string::npos);
  r = call("PUT", "/v1/agent/service/register", "[1,2]");
  EXPECT_EQ(r.status, 400);
  r = call("GET", "/v1/catalog/services?index=abc");
  EXPECT_EQ(r.status, 400);
  r = call("GET", "/v1/catalog/services?index=1&wait=forever");
  EXPECT_EQ(r.status, 400);
  r = call("GET", "/v1/catalog/services?stale&consistent");
  EXPECT_EQ(r.status, 400);
  r = call("GET", "/v1/health/state/sideways");
  EXPECT_EQ(r.status, 400);
}

TEST_F(ApiTest, BlockingQueryOnlyForIndexedReads) {
  Request req;
  req.method = "GET";
  req.path = "/v1/health/service/web";
  req.query = {{"index", "1"}, {"wait", "2s"}};
  Outcome out = api.handle(req);
  // The service does not exist: its index is the services table index,
  // which is not 1 after the node registration at index 1? It is 0 -> 1.
  auto* b = std::get_if<Blocking>(&out);
  ASSERT_NE(b, nullptr);
  EXPECT_GE(b->wait, std::chrono::milliseconds(2000));
  EXPECT_LE(b->wait, std::chrono::milliseconds(2000 + 2000 / 16));
  EXPECT_EQ(b->keys, std::vector<std::string>{registry::serviceWatchKey("web")});
}

// A gRPC check is a version-3 register: written only once every server
// says it applies version 3, otherwise refused before anything is committed.
TEST_F(ApiTest, GrpcCheckNeedsEveryServerToApplyCommandVersion3) {
  const std::string body =
      R"({"Name":"api","ID":"api1","Check":{"GRPC":"127.0.0.1:9/api","Interval":"5s"}})";
  rep.commandVersion = 2;
  auto r = call("PUT", "/v1/agent/service/register", body);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("command version 3"), std::string::npos) << r.body;
  EXPECT_EQ(json::parse(call("GET", "/v1/agent/services").body).as_object().size(), 0u);
  // Anything else still goes through.
  r = call("PUT", "/v1/agent/service/register", R"({"Name":"web","Check":{"TTL":"5s"}})");
  EXPECT_EQ(r.status, 200) << r.body;

  rep.commandVersion = 3;
  r = call("PUT", "/v1/agent/service/register", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto checks = json::parse(call("GET", "/v1/agent/checks").body).as_object();
  const auto& c = checks.at("service:api1").as_object();
  EXPECT_EQ(c.at("Type").as_string(), "grpc");
  EXPECT_EQ(c.at("Definition").at("GRPC").as_string(), "127.0.0.1:9/api");
}

TEST_F(ApiTest, CatalogRegisterAndNodeQueries) {
  auto r = call("PUT", "/v1/catalog/register",
                R"({"Node":"ext1","Address":"10.9.9.9","NodeMeta":{"rack":"a"},
                    "Service":{"Service":"db","Port":5432},
                    "Check":{"CheckID":"db-ok","Name":"db ok","Status":"passing","ServiceID":"db"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "true");
  auto nodes = json::parse(call("GET", "/v1/catalog/nodes?node-meta=rack:a").body).as_array();
  ASSERT_EQ(nodes.size(), 1u);
  auto node = json::parse(call("GET", "/v1/catalog/node/ext1").body).as_object();
  EXPECT_TRUE(node.at("Services").as_object().contains("db"));
  EXPECT_EQ(call("GET", "/v1/catalog/node/nope").body, "null");
  auto hn = json::parse(call("GET", "/v1/health/node/ext1").body).as_array();
  EXPECT_EQ(hn.size(), 1u);
  auto st = json::parse(call("GET", "/v1/health/state/passing").body).as_array();
  EXPECT_EQ(st.size(), 1u);
  auto svcs = json::parse(call("GET", "/v1/catalog/services").body).as_object();
  EXPECT_TRUE(svcs.contains("db"));
  ASSERT_EQ(call("PUT", "/v1/catalog/deregister", R"({"Node":"ext1"})").status, 200);
  EXPECT_EQ(call("GET", "/v1/catalog/node/ext1").body, "null");
}

TEST_F(ApiTest, CatalogAndHealthOrdersMatch) {
  for (const char* id : {"w3", "w1", "w2"})
    ASSERT_EQ(call("PUT", "/v1/agent/service/register",
                   std::string(R"({"Name":"web","ID":")") + id + "\"}")
                  .status,
              200);
  auto cat = json::parse(call("GET", "/v1/catalog/service/web").body).as_array();
  auto health = json::parse(call("GET", "/v1/health/service/web").body).as_array();
  ASSERT_EQ(cat.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(cat[i].at("ServiceID"), health[i].at("Service").at("ID"));
}

TEST_F(ApiTest, MaintenanceModeMarksInstanceCritical) {
  ASSERT_EQ(call("PUT", "/v1/agent/service/register", R"({"Name":"web"})").status, 200);
  EXPECT_EQ(json::parse(call("GET", "/v1/health/service/web?passing").body).as_array().size(), 1u);
  ASSERT_EQ(call("PUT", "/v1/agent/service/maintenance/web?enable=true&reason=upgrade").status,
            200);
  EXPECT_EQ(json::parse(call("GET", "/v1/health/service/web?passing").body).as_array().size(), 0u);
  ASSERT_EQ(call("PUT", "/v1/agent/service/maintenance/web?enable=false").status, 200);
  EXPECT_EQ(json::parse(call("GET", "/v1/health/service/web?passing").body).as_array().size(), 1u);
  EXPECT_EQ(call("PUT", "/v1/agent/service/maintenance/web").status, 400);
}

TEST_F(ApiTest, MetricsCountRequests) {
  call("GET", "/v1/catalog/services");
  Request req;
  req.method = "GET";
  req.path = "/v1/catalog/services";
  api.observe(req, 200, std::chrono::microseconds(100));
  auto m = call("GET", "/metrics");
  EXPECT_NE(m.body.find("cairn_http_requests_total{route=\"/v1/catalog/services\",code=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("cairn_watch_woken_total"), std::string::npos);
}

}  // namespace
}  // namespace cairn::http
