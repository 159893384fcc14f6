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
  EXPECT_EQ(paths::healthService("a/b", true), "/v1/health/service/a%2Fb?passing");
  EXPECT_EQ(paths::healthService("web", false), "/v1/health/service/web");
  EXPECT_EQ(paths::deregisterService("x y"), "/v1/agent/service/deregister/x%20y");
  EXPECT_EQ(paths::checkUpdate("pass", "c1", ""), "/v1/agent/check/pass/c1");
  EXPECT_EQ(paths::checkUpdate("fail", "c1", "a b"), "/v1/agent/check/fail/c1?note=a%20b");
}

}  // namespace
}  // namespace cairn::client
