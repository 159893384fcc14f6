// Client against a real HTTP server on 127.0.0.1:0 (FakeHttpServer).
#include "client/client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "client/testing/fake_http_server.hpp"

namespace cairn::client {
namespace {

using testing::CannedResponse;
using testing::FakeHttpServer;
using testing::routes;

CannedResponse ok(std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  CannedResponse r;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

std::unique_ptr<Client> connectTo(const std::string& address,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  ClientConfig config;
  config.address = address;
  config.timeout = timeout;
  auto client = Client::create(config);
  EXPECT_TRUE(client.ok()) << client.error().message;
  return std::move(client).value();
}

TEST(ClientTest, RegisterSendsPutWithBodyAsIs) {
  auto server = FakeHttpServer::start(routes({{"PUT /v1/agent/service/register", ok("")}}));
  auto client = connectTo(server->address());
  const std::string body = R"({"Name":"web","Port":8080})";
  Status st = client->registerService(body);
  ASSERT_TRUE(st.ok()) << st.error().message;
  auto reqs = server->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/v1/agent/service/register");
  EXPECT_EQ(reqs[0].body, body);
  EXPECT_EQ(reqs[0].headers["content-type"], "application/json");
  EXPECT_EQ(reqs[0].headers["host"], server->address());
}

TEST(ClientTest, DeregisterEncodesTheId) {
  auto server =
      FakeHttpServer::start(routes({{"PUT /v1/agent/service/deregister/web%2F1%20a%3Fb", ok("")}}));
  auto client = connectTo(server->address());
  Status st = client->deregisterService("web/1 a?b");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(server->requests().at(0).method, "PUT");
}

TEST(ClientTest, CatalogServicesParsesNamesAndTags) {
  auto server = FakeHttpServer::start(
      routes({{"GET /v1/catalog/services", ok(R"({"web":["v1","blue"],"db":[],"cairn":null})")}}));
  auto client = connectTo(server->address());
  auto services = client->catalogServices();
  ASSERT_TRUE(services.ok()) << services.error().message;
  ASSERT_EQ(services->size(), 3u);
  EXPECT_EQ(services->at("web"), (std::vector<std::string>{"v1", "blue"}));
  EXPECT_TRUE(services->at("db").empty());
  EXPECT_TRUE(services->at("cairn").empty());
}

TEST(ClientTest, CatalogNodesParsesEachNode) {
  auto server = FakeHttpServer::start(
      routes({{"GET /v1/catalog/nodes",
               ok(R"([{"ID":"x","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","Meta":{}},)"
                  R"({"Node":"n2","Address":"10.0.0.2","Datacenter":"dc2"}])")}}));
  auto client = connectTo(server->address());
  auto nodes = client->catalogNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].node, "n1");
  EXPECT_EQ((*nodes)[0].address, "10.0.0.1");
  EXPECT_EQ((*nodes)[1].datacenter, "dc2");
}

TEST(ClientTest, CatalogServiceEncodesNameAndParsesInstances) {
  auto server = FakeHttpServer::start(routes(
      {{"GET /v1/catalog/service/my%20web",
        ok(R"([{"Node":"n1","Address":"10.0.0.1","ServiceID":"web-1","ServiceName":"my web",)"
           R"("ServiceAddress":"","ServicePort":8080,"ServiceTags":["v1"]}])")}}));
  auto client = connectTo(server->address());
  auto instances = client->catalogService("my web");
  ASSERT_TRUE(instances.ok()) << instances.error().message;
  ASSERT_EQ(instances->size(), 1u);
  const CatalogServiceInstance& i = (*instances)[0];
  EXPECT_EQ(i.node, "n1");
  EXPECT_EQ(i.address, "10.0.0.1");
  EXPECT_EQ(i.serviceId, "web-1");
  EXPECT_EQ(i.serviceName, "my web");
  EXPECT_EQ(i.serviceAddress, "");
  EXPECT_EQ(i.servicePort, 8080);
  EXPECT_EQ(i.serviceTags, std::vector<std::string>{"v1"});
}

TEST(ClientTest, HealthServiceAsksForPassingAndAggregatesChecks) {
  const std::string body =
      R"([{"Node":{"Node":"n1","Address":"10.0.0.1"},)"
      R"("Service":{"ID":"web-1","Service":"web","Tags":["a"],"Address":"10.1.1.1","Port":80},)"
      R"("Checks":[{"CheckID":"serfHealth","Status":"passing"},{"CheckID":"c","Status":"warning"}]},)"
      R"({"Node":{"Node":"n2","Address":"10.0.0.2"},)"
      R"("Service":{"ID":"web-2","Service":"web","Tags":[],"Address":"","Port":81},"Checks":[]}])";
  auto server = FakeHttpServer::start(routes({{"GET /v1/health/service/web?passing", ok(body)},
                                              {"GET /v1/health/service/web", ok("[]")}}));
  auto client = connectTo(server->address());

  auto entries = client->healthService("web", true);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries->size(), 2u);
  const HealthServiceEntry& e = (*entries)[0];
  EXPECT_EQ(e.node, "n1");
  EXPECT_EQ(e.nodeAddress, "10.0.0.1");
  EXPECT_EQ(e.serviceId, "web-1");
  EXPECT_EQ(e.serviceName, "web");
  EXPECT_EQ(e.serviceAddress, "10.1.1.1");
  EXPECT_EQ(e.servicePort, 80);
  EXPECT_EQ(e.serviceTags, std::vector<std::string>{"a"});
  EXPECT_EQ(e.status, "warning");
  EXPECT_EQ((*entries)[1].status, "passing");

  auto all = client->healthService("web", false);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_TRUE(all->empty());
}

TEST(ClientTest, CheckUpdatesUseTheirVerbAndEncodeTheNote) {
  auto server = FakeHttpServer::start(routes({
      {"PUT /v1/agent/check/pass/service%3Aweb", ok("")},
      {"PUT /v1/agent/check/warn/ttl?note=disk%2090%25%20full%26more", ok("")},
      {"PUT /v1/agent/check/fail/ttl?note=down", ok("")},
  }));
  auto client = connectTo(server->address());
  EXPECT_TRUE(client->checkPass("service:web").ok());
  EXPECT_TRUE(client->checkWarn("ttl", "disk 90% full&more").ok());
  EXPECT_TRUE(client->checkFail("ttl", "down").ok());
  EXPECT_EQ(server->requests().size(), 3u);
}

TEST(ClientTest, RequestReturnsAnyStatusWithIndex) {
  CannedResponse teapot;
  teapot.status = 418;
  teapot.body = "short and stout";
  teapot.headers = {{"X-Consul-Index", "42"}};
  auto server = FakeHttpServer::start(routes({{"DELETE /v1/thing", teapot}}));
  auto client = connectTo(server->address());
  auto res = client->request("DELETE", "/v1/thing");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 418u);
  EXPECT_EQ(res->body, "short and stout");
  EXPECT_EQ(res->index, 42u);
}

TEST(ClientTest, SnapshotSaveAndRestoreCarryBinaryBodies) {
  const std::string file("CAIRNSNP\0\x01\xff\r\n\0tail", 18);
  CannedResponse restored;
  restored.headers = {{"X-Consul-Index", "77"}};
  auto server = FakeHttpServer::start(routes({
      {"GET /v1/snapshot", ok(file, {{"X-Consul-Index", "41"}})},
      {"GET /v1/snapshot?stale", ok(file, {{"X-Consul-Index", "40"}})},
      {"PUT /v1/snapshot", restored},
  }));
  auto client = connectTo(server->address());
  auto snap = client->snapshotSave();
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_EQ(snap->data, file);
  EXPECT_EQ(snap->index, 41u);
  auto stale = client->snapshotSave(true);
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  EXPECT_EQ(stale->index, 40u);
  auto at = client->snapshotRestore(file);
  ASSERT_TRUE(at.ok()) << at.error().message;
  EXPECT_EQ(*at, 77u);
  auto reqs = server->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].body, file);
  EXPECT_EQ(reqs[2].headers["content-type"], "application/octet-stream");
  EXPECT_FALSE(client->snapshotRestore("").ok());
}

TEST(ClientTest, SnapshotRefusalIsAnErrorWithTheServersReason) {
  CannedResponse refused;
  refused.status = 400;
  refused.body = "Snapshot refused, nothing was changed: SHA-256 checksum mismatch\n";
  auto server = FakeHttpServer::start(routes({{"PUT /v1/snapshot", refused}}));
  auto client = connectTo(server->address());
  auto at = client->snapshotRestore("x");
  ASSERT_FALSE(at.ok());
  EXPECT_EQ(at.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(at.error().message.find("checksum mismatch"), std::string::npos) << at.error().message;
}

TEST(ClientTest, ResponseLimitIsConfigurable) {
  auto server = FakeHttpServer::start(routes({{"GET /v1/snapshot", ok(std::string(4096, 's'))}}));
  ClientConfig config;
  config.address = server->address();
  config.maxResponseBytes = 1024;
  auto small = std::move(Client::create(config).value());
  auto snap = small->snapshotSave();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().message.find("larger than 1024 bytes"), std::string::npos)
      << snap.error().message;
  config.maxResponseBytes = 0;
  EXPECT_FALSE(Client::create(config).ok());
}

TEST(ClientTest, Non2xxIsAnErrorWithStatusAndBody) {
  CannedResponse bad;
  bad.status = 400;
  bad.body = "Invalid service:\nmissing Name\n";
  auto server = FakeHttpServer::start(routes({{"PUT /v1/agent/service/register", bad}}));
  auto client = connectTo(server->address());
  Status st = client->registerService("{}");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("400"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("Invalid service: missing Name"), std::string::npos)
      << st.error().message;
  EXPECT_EQ(st.error().message.find('\n'), std::string::npos) << st.error().message;

  auto missing = client->catalogService("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(ClientTest, MalformedJsonIsAnError) {
  auto server = FakeHttpServer::start(routes({{"GET /v1/catalog/nodes", ok("[{\"Node\":")}}));
  auto client = connectTo(server->address());
  auto nodes = client->catalogNodes();
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.error().code, ErrorCode::kCorruption);
  EXPECT_NE(nodes.error().message.find("/v1/catalog/nodes"), std::string::npos);
}

TEST(ClientTest, ReusesOneKeepAliveConnection) {
  auto server = FakeHttpServer::start(routes({{"GET /v1/catalog/nodes", ok("[]")}}));
  auto client = connectTo(server->address());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->catalogNodes().ok());
  EXPECT_EQ(server->connections(), 1);
  EXPECT_EQ(server->requests().size(), 5u);
}

TEST(ClientTest, ReconnectsWhenTheServerSaysClose) {
  CannedResponse closing = ok("[]");
  closing.close = true;
  auto server = FakeHttpServer::start(routes({{"GET /v1/catalog/nodes", closing}}));
  auto client = connectTo(server->address());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->catalogNodes().ok());
  EXPECT_EQ(server->connections(), 3);
}

TEST(ClientTest, RetriesOnceWhenAnIdleConnectionWasDropped) {
  CannedResponse dropping = ok("[]");
  dropping.silentClose = true;
  auto server = FakeHttpServer::start(routes({{"GET /v1/catalog/nodes", dropping}}));
  auto client = connectTo(server->address());
  for (int i = 0; i < 3; ++i) {
    auto nodes = client->catalogNodes();
    ASSERT_TRUE(nodes.ok()) << "request " << i << ": " << nodes.error().message;
  }
  EXPECT_EQ(server->connections(), 3);
  EXPECT_EQ(server->requests().size(), 3u);
}

TEST(ClientTest, ConnectionRefusedNamesTheAddress) {
  std::string address = "127.0.0.1:" + std::to_string(testing::closedPort());
  auto client = connectTo(address);
  auto nodes = client->catalogNodes();
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(nodes.error().message, "cannot reach cairn at " + address + ": Connection refused");
}

TEST(ClientTest, TimesOutAgainstAServerThatNeverAnswers) {
  auto server =
      FakeHttpServer::start([](const testing::RecordedRequest&) -> std::optional<CannedResponse> {
        return std::nullopt;
      });
  auto client = connectTo(server->address(), std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  auto nodes = client->catalogNodes();
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(nodes.ok());
  EXPECT_EQ(nodes.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(nodes.error().message,
            "cairn at " + server->address() + " did not answer GET /v1/catalog/nodes within 200ms");
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(server->requests().size(), 1u);
}

TEST(ClientTest, RejectsBadRequestTargets) {
  auto client = connectTo("127.0.0.1:1");
  EXPECT_EQ(client->request("GET", "v1/no-slash").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->request("GET", "/a b").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->request("GET", "/a\r\nX: y").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->request("FROB", "/").error().code, ErrorCode::kInvalidArgument);
}

TEST(ClientTest, CreateValidatesConfig) {
  ClientConfig bad;
  bad.address = "http://host:99999";
  auto c1 = Client::create(bad);
  ASSERT_FALSE(c1.ok());
  EXPECT_NE(c1.error().message.find("host:99999"), std::string::npos);

  ClientConfig zero;
  zero.address = "127.0.0.1:8500";
  zero.timeout = std::chrono::milliseconds(0);
  auto c2 = Client::create(zero);
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.error().message.find("timeout"), std::string::npos);
}

TEST(ClientTest, AddressDefaultsToEnvironmentThenLocalhost) {
  ::setenv("CAIRN_HTTP_ADDR", "http://10.1.2.3:9500", 1);
  auto fromEnv = Client::create({});
  ::unsetenv("CAIRN_HTTP_ADDR");
  ASSERT_TRUE(fromEnv.ok()) << fromEnv.error().message;
  EXPECT_EQ((*fromEnv)->address(), "10.1.2.3:9500");

  auto fallback = Client::create({});
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ((*fallback)->address(), "127.0.0.1:8500");
}

}  // namespace
}  // namespace cairn::client
