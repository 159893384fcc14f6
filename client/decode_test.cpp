// Pure pieces of the client: JSON decoding, status aggregation, encoding.
#include "client/decode.hpp"

#include <gtest/gtest.h>

#include "client/api_paths.hpp"
#include "client/url.hpp"

namespace cairn::client {
namespace {

TEST(DecodeTest, CatalogServicesRefusesNonStringTags) {
  auto r = decodeCatalogServices(R"({"web":[1]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("web"), std::string::npos) << r.error().message;
  EXPECT_FALSE(decodeCatalogServices("[]").ok());
  EXPECT_FALSE(decodeCatalogServices("").ok());
}

TEST(DecodeTest, MissingAndNullFieldsAreEmpty) {
  auto r = decodeCatalogService(R"([{"Node":"n1","ServiceTags":null,"ServiceAddress":null}])");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].node, "n1");
  EXPECT_EQ((*r)[0].servicePort, 0);
  EXPECT_TRUE((*r)[0].serviceTags.empty());
  auto nullList = decodeCatalogNodes("null");
  ASSERT_TRUE(nullList.ok());
  EXPECT_TRUE(nullList->empty());
}

TEST(DecodeTest, WrongTypesNameTheField) {
  auto port = decodeCatalogService(R"([{"ServicePort":"80"}])");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.error().message.find("ServicePort"), std::string::npos);
  auto range = decodeCatalogService(R"([{"ServicePort":70000}])");
  ASSERT_FALSE(range.ok());
  auto node = decodeCatalogNodes(R"([{"Node":7}])");
  ASSERT_FALSE(node.ok());
  EXPECT_NE(node.error().message.find("Node"), std::string::npos);
  EXPECT_FALSE(decodeCatalogNodes(R"(["n1"])").ok());
  EXPECT_FALSE(decodeHealthService(R"([{"Checks":{}}])").ok());
  EXPECT_FALSE(decodeHealthService(R"([{"Service":[]}])").ok());
}

TEST(DecodeTest, HealthEntryWithCriticalCheck) {
  auto r = decodeHealthService(
      R"([{"Node":{"Node":"n1"},"Service":{"ID":"a","Service":"web","Port":1},)"
      R"("Checks":[{"Status":"warning"},{"Status":"critical"},{"Status":"passing"}]}])");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].status, "critical");
}

TEST(DecodeTest, AggregateStatusIsTheWorst) {
  EXPECT_EQ(aggregateStatus({}), "passing");
  EXPECT_EQ(aggregateStatus({"passing", "passing"}), "passing");
  EXPECT_EQ(aggregateStatus({"passing", "warning"}), "warning");
  EXPECT_EQ(aggregateStatus({"critical", "warning"}), "critical");
  EXPECT_EQ(aggregateStatus({"passing", "maintenance"}), "critical");
}

TEST(UrlTest, EscapesAllButUnreserved) {
  EXPECT_EQ(escapeComponent("Az09-._~"), "Az09-._~");
  EXPECT_EQ(escapeComponent("a/b c?d#e&f=g%h+"), "a%2Fb%20c%3Fd%23e%26f%3Dg%25h%2B");
  EXPECT_EQ(escapeComponent("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(escapeComponent(""), "");
}

TEST(PathsTest, BuildsTargets) {
  EXPECT_EQ(paths::catalogService("web"), "/v1/catalog/service/web");
  QueryOptions passing;
  passing.passing = true;
  EXPECT_EQ(paths::healthService("a/b", passing), "/v1/health/service/a%2Fb?passing");
  EXPECT_EQ(paths::healthService("web"), "/v1/health/service/web");
  EXPECT_EQ(paths::deregisterService("x y"), "/v1/agent/service/deregister/x%20y");
  EXPECT_EQ(paths::checkUpdate("pass", "c1", ""), "/v1/agent/check/pass/c1");
  EXPECT_EQ(paths::checkUpdate("fail", "c1", "a b"), "/v1/agent/check/fail/c1?note=a%20b");
}

TEST(PathsTest, QueryOptionsApplyWhereTheEndpointTakesThem) {
  QueryOptions o;
  o.consistency = Consistency::kStale;
  o.tags = {"v 2", "eu"};
  o.passing = true;
  EXPECT_EQ(paths::healthService("web", o),
            "/v1/health/service/web?stale&tag=v%202&tag=eu&passing");
  EXPECT_EQ(paths::catalogService("web", o), "/v1/catalog/service/web?stale&tag=v%202&tag=eu");
  EXPECT_EQ(paths::catalogNodes(o), "/v1/catalog/nodes?stale");
  o.consistency = Consistency::kConsistent;
  o.index = 42;
  o.wait = std::chrono::seconds(10);
  EXPECT_EQ(paths::healthState("critical", o),
            "/v1/health/state/critical?consistent&index=42&wait=10s");
  EXPECT_EQ(paths::healthChecks("a/b"), "/v1/health/checks/a%2Fb");
}

TEST(PathsTest, WithBlockingReplacesIndexAndWait) {
  EXPECT_EQ(paths::withBlocking("/v1/catalog/nodes", 7, std::chrono::milliseconds(0)),
            "/v1/catalog/nodes?index=7");
  EXPECT_EQ(paths::withBlocking("/v1/health/service/w?passing&index=3&wait=1s&tag=x", 9,
                                std::chrono::milliseconds(1500)),
            "/v1/health/service/w?passing&tag=x&index=9&wait=1500ms");
}

TEST(DecodeTest, HealthChecksMembersRaftAndLeader) {
  auto checks = decodeHealthChecks(
      R"([{"Node":"n1","CheckID":"service:web","Name":"web ttl","Status":"warning",)"
      R"("Output":"slow","ServiceID":"web","ServiceName":"web","Type":"ttl"}])");
  ASSERT_TRUE(checks.ok()) << checks.error().message;
  ASSERT_EQ(checks->size(), 1u);
  EXPECT_EQ((*checks)[0].checkId, "service:web");
  EXPECT_EQ((*checks)[0].status, "warning");
  EXPECT_EQ((*checks)[0].output, "slow");
  EXPECT_EQ((*checks)[0].type, "ttl");

  auto members = decodeMembers(
      R"([{"Name":"s1","Addr":"127.0.0.1","Port":8301,"Status":1,"Tags":{"dc":"dc1"}},)"
      R"({"Name":"s2","Addr":"127.0.0.2","Port":8302,"Status":9}])");
  ASSERT_TRUE(members.ok()) << members.error().message;
  EXPECT_EQ((*members)[0].address, "127.0.0.1:8301");
  EXPECT_EQ((*members)[0].status, "alive");
  EXPECT_EQ((*members)[0].datacenter, "dc1");
  EXPECT_EQ((*members)[1].status, "unknown");

  auto raft = decodeRaftConfiguration(
      R"({"Servers":[{"ID":"a","Node":"s1","Address":"127.0.0.1:8301","Leader":true,"Voter":true}],"Index":3})");
  ASSERT_TRUE(raft.ok()) << raft.error().message;
  EXPECT_TRUE((*raft)[0].leader);
  EXPECT_EQ((*raft)[0].address, "127.0.0.1:8301");
  EXPECT_FALSE(decodeRaftConfiguration(R"({"Servers":3})").ok());

  EXPECT_EQ(*decodeString(R"("127.0.0.1:8300")"), "127.0.0.1:8300");
  EXPECT_FALSE(decodeString("[1]").ok());
  EXPECT_FALSE(decodeMembers(R"([{"Port":"x"}])").ok());
}

}  // namespace
}  // namespace cairn::client
