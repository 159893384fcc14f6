#include "cli/service_definition.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cairn::cli {
namespace {

boost::json::value parsed(const std::string& s) {
  return boost::json::parse(s);
}

TEST(ServiceDefinitionTest, ApiBodyPassesThrough) {
  const std::string body =
      R"({"Name":"web","ID":"web-1","Port":80,"Check":{"HTTP":"http://x/","Interval":"10s"}})";
  auto defs = parseServiceDefinitions(body);
  ASSERT_TRUE(defs.ok()) << defs.error().message;
  ASSERT_EQ(defs->size(), 1u);
  EXPECT_EQ((*defs)[0].name, "web");
  EXPECT_EQ(parsed((*defs)[0].json), parsed(body));
}

TEST(ServiceDefinitionTest, UnwrapsConfigFileAndRenamesKeys) {
  auto defs = parseServiceDefinitions(R"({
    "service": {
      "id": "web-1", "name": "web", "tags": ["v1"], "port": 80,
      "meta": {"some_key": "v"},
      "tagged_addresses": {"lan_ipv4": {"address": "10.0.0.1", "port": 80}},
      "check": {"check_id": "c1", "http": "http://x/", "tls_skip_verify": true,
                "header": {"x_token": ["t"]},
                "deregister_critical_service_after": "90m"}
    }
  })");
  ASSERT_TRUE(defs.ok()) << defs.error().message;
  ASSERT_EQ(defs->size(), 1u);
  EXPECT_EQ(parsed((*defs)[0].json), parsed(R"({
    "ID": "web-1", "Name": "web", "Tags": ["v1"], "Port": 80,
    "Meta": {"some_key": "v"},
    "TaggedAddresses": {"lan_ipv4": {"Address": "10.0.0.1", "Port": 80}},
    "Check": {"CheckID": "c1", "HTTP": "http://x/", "TLSSkipVerify": true,
              "Header": {"x_token": ["t"]},
              "DeregisterCriticalServiceAfter": "90m"}
  })"));
}

TEST(ServiceDefinitionTest, ServicesArrayGivesOneDefinitionEach) {
  auto defs = parseServiceDefinitions(R"({"services":[{"name":"a"},{"Name":"b"}]})");
  ASSERT_TRUE(defs.ok()) << defs.error().message;
  ASSERT_EQ(defs->size(), 2u);
  EXPECT_EQ((*defs)[0].name, "a");
  EXPECT_EQ((*defs)[1].name, "b");
}

TEST(ServiceDefinitionTest, ErrorsNameTheProblem) {
  auto syntax = parseServiceDefinitions("{\n  \"name\": \"web\",\n  oops\n}");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message.find("line 3"), std::string::npos) << syntax.error().message;

  auto notObject = parseServiceDefinitions("[1]");
  ASSERT_FALSE(notObject.ok());
  EXPECT_NE(notObject.error().message.find("not a JSON object"), std::string::npos);

  auto noName = parseServiceDefinitions(R"({"services":[{"name":"a"},{"port":1}]})");
  ASSERT_FALSE(noName.ok());
  EXPECT_EQ(noName.error().message, "services[1] has no \"name\"");

  auto dup = parseServiceDefinitions(R"({"name":"a","Name":"b"})");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("duplicate key \"Name\""), std::string::npos);

  auto extra = parseServiceDefinitions(R"({"service":{"name":"a"},"check":{}})");
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.error().message.find("only \"service\""), std::string::npos);

  EXPECT_FALSE(parseServiceDefinitions(R"({"services":[]})").ok());
  EXPECT_FALSE(parseServiceDefinitions(R"({"service":"web"})").ok());
}

TEST(ServiceDefinitionTest, ApiFieldNames) {
  EXPECT_EQ(apiFieldName("name"), "Name");
  EXPECT_EQ(apiFieldName("enable_tag_override"), "EnableTagOverride");
  EXPECT_EQ(apiFieldName("check_id"), "CheckID");
  EXPECT_EQ(apiFieldName("grpc_use_tls"), "GRPCUseTLS");
  EXPECT_EQ(apiFieldName("ttl"), "TTL");
  EXPECT_EQ(apiFieldName("ServiceID"), "ServiceID");
  EXPECT_EQ(apiFieldName("Port"), "Port");
}

}  // namespace
}  // namespace cairn::cli
