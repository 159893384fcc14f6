// WatchPlan's rules, then Client::watch against a real HTTP server.
#include "client/watch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "client/client.hpp"
#include "client/testing/fake_http_server.hpp"

namespace cairn::client {
namespace {

using std::chrono::milliseconds;
using testing::CannedResponse;
using testing::FakeHttpServer;
using testing::RecordedRequest;

WatchOptions fast() {
  WatchOptions o;
  o.wait = std::chrono::seconds(2);
  o.minInterval = milliseconds(100);
  o.initialBackoff = milliseconds(10);
  o.maxBackoff = milliseconds(40);
  return o;
}

TEST(WatchPlanTest, DeliversFirstAnswerThenOnlyChanges) {
  WatchPlan p(fast());
  EXPECT_EQ(p.nextIndex(), 0u);
  EXPECT_TRUE(p.onAnswer(5, "a", milliseconds(1)));
  EXPECT_EQ(p.nextIndex(), 5u);
  EXPECT_FALSE(p.onAnswer(6, "a", milliseconds(500)));  // woken, but nothing changed
  EXPECT_EQ(p.nextIndex(), 6u);
  EXPECT_TRUE(p.onAnswer(7, "b", milliseconds(1)));
  EXPECT_TRUE(p.onAnswer(8, "a", milliseconds(1)));  // back to an earlier state is a change
}

TEST(WatchPlanTest, IndexGoingBackwardsStartsOverAndZeroStillBlocks) {
  WatchPlan p(fast());
  EXPECT_TRUE(p.onAnswer(100, "a", milliseconds(1)));
  EXPECT_FALSE(p.onAnswer(40, "a", milliseconds(1)));
  EXPECT_EQ(p.nextIndex(), 0u);
  EXPECT_TRUE(p.onAnswer(41, "b", milliseconds(1)));
  EXPECT_EQ(p.nextIndex(), 41u);
  WatchPlan q(fast());
  EXPECT_TRUE(q.onAnswer(0, "a", milliseconds(1)));
  EXPECT_EQ(q.nextIndex(), 1u);
}

TEST(WatchPlanTest, QuickAnswerWithoutChangePausesUpToMinInterval) {
  WatchPlan p(fast());
  EXPECT_TRUE(p.onAnswer(5, "a", milliseconds(1)));
  EXPECT_EQ(p.pause(), milliseconds(0));  // a change: no pause
  EXPECT_FALSE(p.onAnswer(5, "a", milliseconds(30)));
  EXPECT_EQ(p.pause(), milliseconds(70));
  EXPECT_FALSE(p.onAnswer(5, "a", milliseconds(300)));
  EXPECT_EQ(p.pause(), milliseconds(0));
}

TEST(WatchPlanTest, ErrorsBackOffExponentiallyAndResetOnSuccess) {
  WatchPlan p(fast());
  ASSERT_TRUE(p.onError());
  EXPECT_EQ(p.pause(), milliseconds(10));
  ASSERT_TRUE(p.onError());
  EXPECT_EQ(p.pause(), milliseconds(20));
  ASSERT_TRUE(p.onError());
  EXPECT_EQ(p.pause(), milliseconds(40));
  ASSERT_TRUE(p.onError());
  EXPECT_EQ(p.pause(), milliseconds(40));
  EXPECT_EQ(p.consecutiveErrors(), 4);
  p.onAnswer(3, "x", milliseconds(1));
  ASSERT_TRUE(p.onError());
  EXPECT_EQ(p.pause(), milliseconds(10));
}

TEST(WatchPlanTest, FailFastAndMaxErrors) {
  WatchOptions o = fast();
  o.failFast = true;
  WatchPlan p(o);
  EXPECT_FALSE(p.onError());
  WatchPlan q(o);
  q.onAnswer(1, "a", milliseconds(1));
  EXPECT_TRUE(q.onError());  // after an answer: an outage, retried
  o.failFast = false;
  o.maxConsecutiveErrors = 2;
  WatchPlan r(o);
  EXPECT_TRUE(r.onError());
  EXPECT_FALSE(r.onError());
}

std::uint64_t indexOf(const std::string& target) {
  auto at = target.find("index=");
  return at == std::string::npos ? 0 : std::stoull(target.substr(at + 6));
}

CannedResponse answer(std::uint64_t index, std::string body) {
  CannedResponse r;
  r.body = std::move(body);
  r.headers = {{"X-Consul-Index", std::to_string(index)}};
  return r;
}

std::unique_ptr<Client> clientFor(const FakeHttpServer& server) {
  ClientConfig config;
  config.address = server.address();
  config.timeout = std::chrono::seconds(5);
  return std::move(Client::create(config)).value();
}

// A server whose state changes on a script: every query returns at once with
// the state of its step, as a server that ignores blocking would, so the
// watch has to hold back by itself.
TEST(ClientWatchTest, DeliversEachStateOnceResetsOnBackwardsIndexAndDoesNotSpin) {
  struct Step {
    std::uint64_t index;
    std::string body;
  };
  const std::vector<Step> steps = {{10, "[1]"}, {11, "[1]"}, {12, "[1,2]"}, {3, "[1,2]"},
                                   {4, "[2]"},  {4, "[2]"},  {5, "[]"}};
  std::atomic<std::size_t> served{0};
  auto server = FakeHttpServer::start([&](const RecordedRequest&) -> std::optional<CannedResponse> {
    std::size_t i = std::min(served.fetch_add(1), steps.size() - 1);
    return answer(steps[i].index, steps[i].body);
  });
  auto client = clientFor(*server);
  std::vector<std::string> seen;
  std::vector<std::uint64_t> indexes;
  auto started = std::chrono::steady_clock::now();
  Status st = client->watch("/v1/health/service/web?passing", fast(), [&](const WatchEvent& e) {
    seen.push_back(e.json);
    indexes.push_back(e.index);
    return e.json != "[]";
  });
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(seen, (std::vector<std::string>{"[1]", "[1,2]", "[2]", "[]"}));
  EXPECT_EQ(indexes, (std::vector<std::uint64_t>{10, 12, 4, 5}));
  auto reqs = server->requests();
  ASSERT_EQ(reqs.size(), steps.size());
  EXPECT_EQ(reqs[0].target, "/v1/health/service/web?passing");
  EXPECT_EQ(indexOf(reqs[1].target), 10u);
  EXPECT_NE(reqs[1].target.find("wait=2s"), std::string::npos) << reqs[1].target;
  EXPECT_EQ(indexOf(reqs[4].target), 0u);  // 3 < 12: started over
  EXPECT_EQ(indexOf(reqs[5].target), 4u);
  // Three answers brought no change and came back at once: at least three
  // pauses of about minInterval.
  EXPECT_GE(took, milliseconds(250));
}

TEST(ClientWatchTest, RetriesErrorsWithBackOffThenGivesUp) {
  std::atomic<int> served{0};
  auto server = FakeHttpServer::start([&](const RecordedRequest&) -> std::optional<CannedResponse> {
    if (served.fetch_add(1) == 0) return answer(7, "[1]");
    CannedResponse r;
    r.status = 500;
    r.body = "no leader";
    return r;
  });
  auto client = clientFor(*server);
  WatchOptions o = fast();
  o.maxConsecutiveErrors = 4;
  std::vector<milliseconds> pauses;
  o.onError = [&](const Error& e, milliseconds retryIn) {
    EXPECT_NE(e.message.find(server->address()), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("no leader"), std::string::npos) << e.message;
    pauses.push_back(retryIn);
  };
  int delivered = 0;
  Status st = client->watch("/v1/catalog/services", o, [&](const WatchEvent&) {
    ++delivered;
    return true;
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(delivered, 1);
  EXPECT_EQ(pauses,
            (std::vector<milliseconds>{milliseconds(10), milliseconds(20), milliseconds(40)}));
  EXPECT_EQ(server->requests().size(), 5u);
}

TEST(ClientWatchTest, FailFastReportsTheUnreachableServer) {
  ClientConfig config;
  config.address = "127.0.0.1:" + std::to_string(testing::closedPort());
  auto client = std::move(Client::create(config)).value();
  WatchOptions o = fast();
  o.failFast = true;
  Status st = client->watch("/v1/catalog/nodes", o, [](const WatchEvent&) { return true; });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(config.address), std::string::npos) << st.error().message;
}

TEST(ClientWatchTest, StopAndCancelEndABlockedQueryAtOnce) {
  // The second query is never answered: only cancel() can end it.
  std::atomic<int> served{0};
  auto server = FakeHttpServer::start([&](const RecordedRequest&) -> std::optional<CannedResponse> {
    if (served.fetch_add(1) == 0) return answer(7, "[1]");
    return std::nullopt;
  });
  auto client = clientFor(*server);
  std::atomic<bool> stop{false};
  WatchOptions o = fast();
  o.wait = std::chrono::seconds(30);
  o.stop = &stop;
  std::thread stopper([&] {
    while (served.load() < 2) std::this_thread::sleep_for(milliseconds(5));
    std::this_thread::sleep_for(milliseconds(50));
    stop = true;
    client->cancel();
  });
  auto started = std::chrono::steady_clock::now();
  Status st = client->watch("/v1/catalog/nodes", o, [](const WatchEvent&) { return true; });
  stopper.join();
  EXPECT_TRUE(st.ok()) << st.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(ClientWatchTest, WatchServiceDecodesAndEndsOnMalformedJson) {
  std::atomic<int> served{0};
  auto server = FakeHttpServer::start([&](const RecordedRequest&) -> std::optional<CannedResponse> {
    if (served.fetch_add(1) == 0) {
      return answer(3,
                    R"([{"Node":{"Node":"n1"},"Service":{"ID":"w1","Service":"web","Port":80}}])");
    }
    return answer(4, "{not json");
  });
  auto client = clientFor(*server);
  std::vector<std::string> ids;
  Status st = client->watchService("web", {}, fast(),
                                   [&](const std::vector<HealthServiceEntry>& e, std::uint64_t) {
                                     for (const auto& x : e) ids.push_back(x.serviceId);
                                     return true;
                                   });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"w1"}));
  EXPECT_NE(st.error().message.find("invalid JSON"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find(server->address()), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace cairn::client
