// AsyncClient: results arrive on the caller's executor; watches stop.
#include "client/async.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "client/testing/fake_http_server.hpp"

namespace cairn::client {
namespace {

using testing::CannedResponse;
using testing::FakeHttpServer;
using testing::RecordedRequest;

ClientConfig configFor(const FakeHttpServer& server) {
  ClientConfig config;
  config.address = server.address();
  return config;
}

TEST(AsyncClientTest, HandlersRunOnTheExecutorInOrder) {
  auto server = FakeHttpServer::start(testing::routes({
      {"GET /v1/catalog/services", CannedResponse{200, R"({"web":["v1"]})", {}, false, false}},
      {"PUT /v1/agent/service/deregister/w1", CannedResponse{}},
  }));
  boost::asio::io_context io;
  auto client = AsyncClient::create(io.get_executor(), configFor(*server));
  ASSERT_TRUE(client.ok()) << client.error().message;
  std::vector<std::string> order;
  auto ioThread = std::this_thread::get_id();
  (*client)->run([](Client& c) { return c.catalogServices(); },
                 [&](Result<std::map<std::string, std::vector<std::string>>> r) {
                   EXPECT_EQ(std::this_thread::get_id(), ioThread);
                   ASSERT_TRUE(r.ok()) << r.error().message;
                   order.push_back("services:" + r->begin()->first);
                 });
  (*client)->deregisterService("w1", [&](Status st) {
    EXPECT_TRUE(st.ok());
    order.push_back("deregister");
  });
  (*client)->deregisterService("missing", [&](Status st) {
    EXPECT_FALSE(st.ok());
    order.push_back("404");
    io.stop();
  });
  boost::asio::steady_timer guard(io, std::chrono::seconds(10));
  guard.async_wait([&](auto) { io.stop(); });
  io.run();
  EXPECT_EQ(order, (std::vector<std::string>{"services:web", "deregister", "404"}));
}

TEST(AsyncClientTest, WatchDeliversOnTheExecutorAndStopsPromptly) {
  std::atomic<int> served{0};
  auto server = FakeHttpServer::start([&](const RecordedRequest&) -> std::optional<CannedResponse> {
    int n = served.fetch_add(1);
    if (n >= 2) return std::nullopt;  // then block forever: only stop() ends it
    CannedResponse r;
    r.body = n == 0 ? R"([{"Service":{"ID":"a"}}])"
                    : R"([{"Service":{"ID":"a"}},{"Service":{"ID":"b"}}])";
    r.headers = {{"X-Consul-Index", std::to_string(10 + n)}};
    return r;
  });
  boost::asio::io_context io;
  auto client = AsyncClient::create(io.get_executor(), configFor(*server));
  ASSERT_TRUE(client.ok());
  std::vector<std::size_t> sizes;
  std::unique_ptr<AsyncWatch> watch;
  WatchOptions options;
  options.wait = std::chrono::seconds(60);
  auto w = (*client)->watchService(
      "web", {}, options,
      [&](const std::vector<HealthServiceEntry>& e, std::uint64_t) {
        sizes.push_back(e.size());
        if (sizes.size() == 2) io.stop();
      },
      [&](Status) { ADD_FAILURE() << "the watch ended by itself"; });
  ASSERT_TRUE(w.ok());
  watch = std::move(*w);
  boost::asio::steady_timer guard(io, std::chrono::seconds(10));
  guard.async_wait([&](auto) { io.stop(); });
  io.run();
  EXPECT_EQ(sizes, (std::vector<std::size_t>{1, 2}));
  auto started = std::chrono::steady_clock::now();
  watch.reset();  // stops a query blocked on the server
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
}  // namespace cairn::client
