#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "dns/load_table.hpp"
#include "http/api.hpp"
#include "http/test_support.hpp"

namespace cairn::http {
namespace {

namespace json = boost::json;

class LoadEndpointTest : public ::testing::Test {
 protected:
  ApiOptions options() {
    ApiOptions o;
    o.jitterSeed = 1;
    o.loads = &loads;
    return o;
  }

  LoadEndpointTest()
      : api(rep.catalog().watches(), rep,
            AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, "0.1.0"}, options()) {
    for (int i = 1; i <= 3; ++i) {
      registry::RegisterCommand r;
      r.node.name = i == 1 ? "node1" : "node" + std::to_string(i);
      r.node.address = "10.0.0." + std::to_string(i);
      registry::Service s;
      s.name = "web";
      s.id = "web-" + std::to_string(i);
      s.weights = {i == 3 ? 8 : 1, 1};
      r.service = s;
      rep.propose(registry::encodeCommand(r), [](Result<uint64_t> res) { ASSERT_TRUE(res.ok()); });
    }
  }

  Response call(std::string method, std::string path, std::string body = "",
                std::vector<std::pair<std::string, std::string>> query = {}) {
    Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.query = std::move(query);
    req.body = std::move(body);
    req.remoteAddr = "127.0.0.1";
    Outcome out = api.handle(req);
    if (auto* r = std::get_if<Response>(&out)) return *r;
    ADD_FAILURE() << "not an immediate response";
    return {};
  }
  std::string index(const Response& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "X-Consul-Index") return v;
    return "";
  }
  std::vector<std::string> ids(const Response& r) {
    std::vector<std::string> out;
    json::value v = json::parse(r.body);
    for (const auto& e : v.as_array()) out.emplace_back(e.at("Service").at("ID").as_string());
    return out;
  }

  dns::LoadTable loads;
  testing::SyncReplicator rep;
  Api api;
};

TEST_F(LoadEndpointTest, ReportsAreSoftStateAndOrderLeastLoaded) {
  auto before = call("GET", "/v1/health/service/web");
  ASSERT_EQ(call("PUT", "/v1/agent/service/load/web-1", R"({"Load": 5})").status, 200);
  ASSERT_EQ(call("PUT", "/v1/agent/service/load/web-2", R"({"Load": 0.5, "TTL": "30s"})").status,
            200);
  ASSERT_EQ(call("PUT", "/v1/agent/service/load/web-3", R"({"load": 2})").status, 200);
  EXPECT_EQ(loads.load("node2", "web-2"), 0.5);
  auto r = call("GET", "/v1/health/service/web", "", {{"order", "least-loaded"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(ids(r), (std::vector<std::string>{"web-2", "web-3", "web-1"}));
  EXPECT_EQ(index(r), index(before));  // no catalog write
  // Without order: the stable order.
  EXPECT_EQ(ids(call("GET", "/v1/health/service/web")),
            (std::vector<std::string>{"web-1", "web-2", "web-3"}));
}

TEST_F(LoadEndpointTest, BadReports) {
  EXPECT_EQ(call("PUT", "/v1/agent/service/load/nope", R"({"Load": 1})").status, 404);
  EXPECT_EQ(call("PUT", "/v1/agent/service/load/web-1", R"({"Load": "x"})").status, 400);
  EXPECT_EQ(call("PUT", "/v1/agent/service/load/web-1", R"({"Load": -1})").status, 400);
  EXPECT_EQ(call("PUT", "/v1/agent/service/load/web-1", R"({})").status, 400);
  EXPECT_EQ(call("PUT", "/v1/agent/service/load/web-1", R"({"Load": 1, "TTL": "x"})").status, 400);
  EXPECT_EQ(call("GET", "/v1/agent/service/load/web-1").status, 405);
  EXPECT_EQ(call("GET", "/v1/health/service/web", "", {{"order", "random"}}).status, 400);
}

TEST_F(LoadEndpointTest, WeightedOrderFavoursHeavyWeight) {
  int first3 = 0;
  for (int i = 0; i < 400; ++i)
    if (ids(call("GET", "/v1/health/service/web", "", {{"order", "weighted"}}))[0] == "web-3")
      ++first3;
  // Weight 8 of 10: expect 320; 5 sigma is 40.
  EXPECT_NEAR(first3, 320, 40);
}

}  // namespace
}  // namespace cairn::http
