#include "http/decode.hpp"

#include <gtest/gtest.h>

#include "http/json_fields.hpp"

namespace cairn::http {
namespace {

boost::json::object obj(const char* text) {
  return parseJson(text).value().as_object();
}

TEST(Decode, ServiceWithLowerCaseKeysAndTtlCheck) {
  // python-consul sends lower-case keys.
  auto r = decodeServiceDefinition(obj(R"({"name":"web","id":"web1","port":80,
      "tags":["a"],"check":{"ttl":"10s"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->service.name, "web");
  EXPECT_EQ(r->service.id, "web1");
  EXPECT_EQ(r->service.port, 80);
  ASSERT_EQ(r->checks.size(), 1u);
  EXPECT_EQ(r->checks[0].checkId, "service:web1");
  EXPECT_EQ(r->checks[0].type, "ttl");
  EXPECT_EQ(r->checks[0].serviceId, "web1");
  EXPECT_EQ(r->checks[0].status, registry::HealthStatus::kCritical);
}

TEST(Decode, SeveralChecksGetNumberedIds) {
  auto r = decodeServiceDefinition(obj(R"({"Name":"web","Checks":[{"TTL":"5s"},
      {"TCP":"127.0.0.1:1","Interval":"10s"}]})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->checks[0].checkId, "service:web:1");
  EXPECT_EQ(r->checks[1].checkId, "service:web:2");
  EXPECT_EQ(r->checks[1].type, "tcp");
}

TEST(Decode, SnakeCaseAliases) {
  auto r = decodeServiceDefinition(
      obj(R"({"name":"web","enable_tag_override":true,"Weights":{"passing":3,"warning":1}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->service.enableTagOverride);
  EXPECT_EQ(r->service.weights.passing, 3);
}

TEST(Decode, ErrorsNameTheField) {
  auto bad = [](const char* text) { return decodeServiceDefinition(obj(text)).error().message; };
  EXPECT_NE(bad(R"({"Port":80})").find("Name"), std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Port":"80"})").find("Port"), std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Port":70000})").find("Port"), std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Tags":"x"})").find("Tags"), std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Check":{"HTTP":"http://x"}})").find("Interval"), std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Check":{"TTL":"soon"}})").find("TTL"), std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Check":{}})").find("TTL, HTTP, TCP, GRPC or Args"),
            std::string::npos);
  EXPECT_NE(bad(R"({"Name":"w","Weights":{"Passing":0}})").find("Weights.Passing"),
            std::string::npos);
  EXPECT_NE(bad(R"({"Name":"a/b"})").find("Name"), std::string::npos);
}

TEST(Decode, GrpcCheck) {
  // Config-file spelling (snake case) and the API's spelling read the same.
  for (const char* text : {R"({"name":"api","check":{"grpc":"127.0.0.1:50051/api.v1",
                               "grpc_use_tls":true,"tls_skip_verify":true,"interval":"5s"}})",
                           R"({"Name":"api","Check":{"GRPC":"127.0.0.1:50051/api.v1",
                               "GRPCUseTLS":true,"TLSSkipVerify":true,"Interval":"5s"}})"}) {
    auto r = decodeServiceDefinition(obj(text));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& c = r->checks.at(0);
    EXPECT_EQ(c.type, "grpc");
    EXPECT_EQ(c.definition.grpc, "127.0.0.1:50051/api.v1");
    EXPECT_TRUE(c.definition.grpcUseTls);
    EXPECT_TRUE(c.definition.tlsSkipVerify);
  }
  auto v6 =
      decodeServiceDefinition(obj(R"({"Name":"a","Check":{"GRPC":"[::1]:9","Interval":"1s"}})"));
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->checks[0].definition.grpc, "[::1]:9");

  auto bad = [](const char* text) { return decodeServiceDefinition(obj(text)).error().message; };
  EXPECT_NE(bad(R"({"Name":"w","Check":{"GRPC":"127.0.0.1:1"}})").find("Interval"),
            std::string::npos);
  for (const char* target :
       {"localhost", "localhost:", ":80", "h:0", "h:99999", "h:8x/svc", "::1:80", "[::1:80"}) {
    std::string body =
        std::string(R"({"Name":"w","Check":{"Interval":"1s","GRPC":")") + target + "\"}}";
    auto r = decodeServiceDefinition(obj(body.c_str()));
    ASSERT_FALSE(r.ok()) << target;
    EXPECT_NE(r.error().message.find("Check.GRPC"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(
      bad(R"({"Name":"w","Check":{"GRPC":"h:1","TCP":"h:1","Interval":"1s"}})").find("only one of"),
      std::string::npos);
}

TEST(Decode, CatalogRegister) {
  auto r = decodeCatalogRegister(obj(R"({"Node":"ext","Address":"10.0.0.9",
      "NodeMeta":{"rack":"r1"},"Service":{"Service":"db","Port":5432},
      "Check":{"CheckID":"db-alive","Status":"passing","ServiceID":"db"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->node.meta.at("rack"), "r1");
  EXPECT_EQ(r->service->name, "db");
  EXPECT_EQ(r->service->id, "db");
  EXPECT_EQ(r->checks[0].status, registry::HealthStatus::kPassing);
  EXPECT_FALSE(decodeCatalogRegister(obj(R"({"Node":"x"})")).ok()) << "address required";
}

TEST(Decode, MalformedJson) {
  EXPECT_FALSE(parseJson("{").ok());
  EXPECT_FALSE(parseJson("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]"
                         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]")
                   .ok());
  EXPECT_TRUE(parseJson("").ok());
}

}  // namespace
}  // namespace cairn::http
