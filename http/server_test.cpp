// The HTTP server over real sockets on 127.0.0.1:0.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "http/api.hpp"
#include "http/test_support.hpp"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
using testing::roundTrip;
using testing::statusOf;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api = std::make_unique<Api>(rep.catalog().watches(), rep,
                                AgentIdentity{"node1", "id", "dc1", "127.0.0.1", 8300, "t"});
    registry::RegisterCommand self;
    self.node.name = "node1";
    self.node.address = "127.0.0.1";
    rep.propose(registry::encodeCommand(self), [](Result<uint64_t>) {});
    ServerConfig cfg;
    cfg.port = 0;
    cfg.maxBodyBytes = 1024;
    cfg.readTimeout = 300ms;
    cfg.idleTimeout = 2s;
    server = std::move(HttpServer::create(cfg, *api).value());
    port = server->port();
  }
  void TearDown() override { server->stop(); }

  testing::SyncReplicator rep;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
};

TEST_F(ServerTest, KeepAliveServesSeveralRequests) {
  int fd = testing::connectTo(port);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(testing::sendAll(fd, "GET /v1/catalog/services HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = testing::readResponse(fd);
    EXPECT_EQ(statusOf(r), 200) << r;
    EXPECT_NE(r.find("X-Consul-Index: "), std::string::npos);
  }
  ::close(fd);
}

TEST_F(ServerTest, OversizedBodyGets413) {
  std::string body(4096, 'x');
  auto r =
      roundTrip(port, "PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_EQ(statusOf(r), 413) << r;
  EXPECT_NE(r.find("too large"), std::string::npos);
}

TEST_F(ServerTest, GarbageRequestGets400) {
  auto r = roundTrip(port, "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(statusOf(r), 400) << r;
  r = roundTrip(port, "GET /v1/x%zz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(statusOf(r), 400) << r;
}

TEST_F(ServerTest, HugeHeaderGets431) {
  auto r = roundTrip(port, "GET / HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_EQ(statusOf(r), 431) << r.substr(0, 100);
}

TEST_F(ServerTest, StalledClientGets408InBoundedTime) {
  int fd = testing::connectTo(port);
  ASSERT_GE(fd, 0);
  auto start = std::chrono::steady_clock::now();
  // Headers promise a body that never comes.
  ASSERT_TRUE(testing::sendAll(
      fd, "PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  auto r = testing::readResponse(fd);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(statusOf(r), 408) << r;
  EXPECT_LT(took, 5s);
  ::close(fd);
  // The server is still fine.
  EXPECT_EQ(statusOf(roundTrip(port, "GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n")), 200);
}

TEST_F(ServerTest, BlockingQueryReturnsSoonAfterRelevantChangeOnly) {
  auto first = roundTrip(port, "GET /v1/health/service/web HTTP/1.1\r\nHost: x\r\n\r\n");
  auto p = first.find("X-Consul-Index: ");
  ASSERT_NE(p, std::string::npos);
  uint64_t index = std::stoull(first.substr(p + 16));

  int fd = testing::connectTo(port);
  ASSERT_TRUE(testing::sendAll(fd, "GET /v1/health/service/web?index=" + std::to_string(index) +
                                       "&wait=30s HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 500 && rep.catalog().watches().waiting() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(rep.catalog().watches().waiting(), 1u);
  // An irrelevant write must not wake it. Watchers fire before the write is
  // acknowledged, so the count is final once the write returns.
  auto other = roundTrip(port,
                         "PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 14\r\n\r\n{\"Name\":\"db\"}\n");
  ASSERT_EQ(statusOf(other), 200) << other;
  EXPECT_EQ(rep.catalog().watches().waiting(), 1u) << "still blocked after an unrelated write";
  auto changed = std::chrono::steady_clock::now();
  auto reg = roundTrip(port,
                       "PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 15\r\n\r\n{\"Name\":\"web\"}\n");
  ASSERT_EQ(statusOf(reg), 200);
  auto r = testing::readResponse(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - changed, 1s);
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_NE(r.find("\"web\""), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, BlockingQueryTimesOutWithSameIndex) {
  auto start = std::chrono::steady_clock::now();
  auto first = roundTrip(port, "GET /v1/catalog/services HTTP/1.1\r\nHost: x\r\n\r\n");
  auto p = first.find("X-Consul-Index: ");
  uint64_t index = std::stoull(first.substr(p + 16));
  auto r = roundTrip(port, "GET /v1/catalog/services?index=" + std::to_string(index) +
                               "&wait=300ms HTTP/1.1\r\nHost: x\r\n\r\n");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(statusOf(r), 200);
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 3s);
  EXPECT_NE(r.find("X-Consul-Index: " + std::to_string(index)), std::string::npos);
}

TEST_F(ServerTest, ClientHangingUpReleasesItsWatch) {
  int fd = testing::connectTo(port);
  ASSERT_TRUE(
      testing::sendAll(fd, "GET /v1/health/service/x?index=99999&wait=60s HTTP/1.1\r\n\r\n"));
  // index 99999 != current, so it answers at once; use the real index instead.
  testing::readResponse(fd);
  ::close(fd);
  auto first = roundTrip(port, "GET /v1/health/service/x HTTP/1.1\r\nHost: x\r\n\r\n");
  uint64_t index = std::stoull(first.substr(first.find("X-Consul-Index: ") + 16));
  fd = testing::connectTo(port);
  ASSERT_TRUE(testing::sendAll(fd, "GET /v1/health/service/x?index=" + std::to_string(index) +
                                       "&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 100 && rep.catalog().watches().waiting() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(rep.catalog().watches().waiting(), 1u);
  ::close(fd);
  for (int i = 0; i < 200 && rep.catalog().watches().waiting() != 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(rep.catalog().watches().waiting(), 0u);
}

}  // namespace
}  // namespace cairn::http
