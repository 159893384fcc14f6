// ACL tokens on a follower that lags: a token committed through another
// server but not applied here yet is looked up again after the read barrier
// (for reads, writes and blocking queries alike); a token still unknown then
// is refused; a known token takes no extra barrier.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <optional>

#include "http/api.hpp"
#include "http/server.hpp"
#include "http/test_support.hpp"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A follower of a cluster: its own writes apply here at once, but commands
// committed through other servers (commitElsewhere) are applied only when a
// read barrier completes, and each barrier waits until the test releases it.
class LaggingReplicator final : public registry::Replicator {
 public:
  explicit LaggingReplicator(testing::SyncReplicator& inner) : inner_(inner) {}
  void propose(std::string command, Done done) override {
    inner_.propose(std::move(command), std::move(done));
  }
  std::string leader() const override { return inner_.leader(); }
  std::vector<std::string> peers() const override { return inner_.peers(); }
  std::vector<ServerInfo> servers() const override { return inner_.servers(); }
  uint32_t clusterCommandVersion() const override { return inner_.clusterCommandVersion(); }
  bool readsNeedBarrier() const override { return cluster; }
  void readBarrier(std::function<void(Status)> done) override {
    std::lock_guard lock(mu_);
    ++barriers;
    waiting_.push_back(std::move(done));
  }

  void commitElsewhere(const registry::Command& cmd) {
    std::lock_guard lock(mu_);
    unapplied_.push_back(registry::encodeCommand(cmd));
  }
  // Completes every barrier started so far: applies what was committed
  // elsewhere (when `st` is ok), then calls them back with `st`.
  void releaseBarriers(Status st = {}) {
    std::vector<std::function<void(Status)>> waiting;
    std::vector<std::string> unapplied;
    {
      std::lock_guard lock(mu_);
      waiting.swap(waiting_);
      if (st.ok()) unapplied.swap(unapplied_);
    }
    for (auto& c : unapplied)
      inner_.propose(std::move(c), [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()); });
    for (auto& done : waiting) done(st);
  }

  bool cluster = true;
  std::atomic<int> barriers{0};

 private:
  testing::SyncReplicator& inner_;
  std::mutex mu_;
  std::vector<std::function<void(Status)>> waiting_;
  std::vector<std::string> unapplied_;
};

Request makeRequest(const std::string& method, const std::string& target, const std::string& token,
                    std::string body = "") {
  Request req = testing::requestFor(method, target, std::move(body));
  if (!token.empty()) req.headers["x-consul-token"] = token;
  return req;
}

class AclBarrierTest : public ::testing::Test {
 protected:
  AclBarrierTest() {
    ApiOptions o;
    o.acl.enabled = true;
    o.acl.defaultAccess = registry::acl::Access::kDeny;
    api = std::make_unique<Api>(rep.catalog().watches(), lagging,
                                AgentIdentity{"node1", "id-1", "dc1", "10.0.0.1", 8300, "t"}, o);
    Outcome out = api->handle(makeRequest("PUT", "/v1/acl/bootstrap", ""));
    auto b = finish(out, makeRequest("PUT", "/v1/acl/bootstrap", ""));
    EXPECT_EQ(b.status, 200) << b.body;
    mgmt = std::string(json::parse(b.body).at("SecretID").as_string());
    lagging.barriers = 0;
  }

  // A management token committed through another server, not applied here.
  std::string tokenElsewhere(const std::string& accessor) {
    registry::AclCommand c;
    c.op = registry::AclCommand::Op::kSetToken;
    c.token.accessorId = accessor;
    c.token.secretId = "secret-" + accessor;
    c.token.policyIds = {std::string(registry::acl::kManagementPolicyId)};
    c.token.createTime = "2026-11-27T20:00:00Z";
    lagging.commitElsewhere(c);
    return c.token.secretId;
  }

  // Carries an outcome on as the HTTP session would, releasing the barrier
  // a Gated waits for. Deferred outcomes here answer synchronously.
  Response finish(Outcome& out, const Request& req) {
    if (auto* g = std::get_if<Gated>(&out)) {
      std::optional<Status> opened;
      g->wait([&](Status st) { opened = std::move(st); });
      EXPECT_FALSE(opened) << "the barrier answered before it was released";
      lagging.releaseBarriers(gateResult);
      if (!opened) {
        ADD_FAILURE() << "the gate never opened";
        return {};
      }
      Outcome next = g->then(req, *opened);
      return finish(next, req);
    }
    if (auto* d = std::get_if<Deferred>(&out)) {
      std::optional<Response> got;
      d->start([&](Response r) { got = std::move(r); });
      if (!got) lagging.releaseBarriers(gateResult);  // a read's own barrier
      if (!got) {
        ADD_FAILURE() << "a deferred outcome never answered";
        return {};
      }
      return *got;
    }
    if (auto* r = std::get_if<Response>(&out)) return *r;
    ADD_FAILURE() << "a blocking outcome for " << req.path;
    return {};
  }

  Response call(const std::string& method, const std::string& target, const std::string& token,
                std::string body = "") {
    auto req = makeRequest(method, target, token, std::move(body));
    Outcome out = api->handle(req);
    Response r = finish(out, req);
    if (!r.body.empty() && r.body.back() == '\n') r.body.pop_back();
    return r;
  }

  testing::SyncReplicator rep;
  LaggingReplicator lagging{rep};
  std::unique_ptr<Api> api;
  std::string mgmt;
  Status gateResult;
};

TEST_F(AclBarrierTest, ATokenNotAppliedHereYetIsAcceptedOnceTheBarrierPasses) {
  std::string tok = tokenElsewhere("a1");
  auto req = makeRequest("GET", "/v1/catalog/services", tok);
  Outcome out = api->handle(req);
  // This server's view does not know the token: no 403 yet, a barrier first.
  ASSERT_TRUE(std::holds_alternative<Gated>(out));
  EXPECT_FALSE(rep.catalog().view()->acl->findBySecret(tok));
  auto g = std::get<Gated>(std::move(out));
  std::optional<Status> opened;
  g.wait([&](Status st) { opened = std::move(st); });
  EXPECT_EQ(lagging.barriers, 1);
  ASSERT_FALSE(opened);
  lagging.releaseBarriers();
  ASSERT_TRUE(opened && opened->ok());
  // The read is answered at once from the view the barrier waited for: it
  // needs no second barrier.
  Outcome next = g.then(req, *opened);
  ASSERT_TRUE(std::holds_alternative<Response>(next));
  EXPECT_EQ(std::get<Response>(next).status, 200) << std::get<Response>(next).body;
  EXPECT_EQ(lagging.barriers, 1);
  // Known now: the fast path, and /v1/acl/token/self names it.
  auto self = call("GET", "/v1/acl/token/self?stale", tok);
  EXPECT_EQ(self.status, 200) << self.body;
  EXPECT_EQ(json::parse(self.body).at("AccessorID").as_string(), "a1");
  EXPECT_EQ(lagging.barriers, 1);
}

TEST_F(AclBarrierTest, ATokenStillUnknownAfterTheBarrierIsRefused) {
  tokenElsewhere("a2");  // something else is pending; not this token
  auto r = call("GET", "/v1/catalog/services", "no-such-secret");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "ACL not found");
  EXPECT_EQ(lagging.barriers, 1);
  auto w = call("PUT", "/v1/agent/service/register", "no-such-secret", R"({"Name":"web"})");
  EXPECT_EQ(w.status, 403);
  EXPECT_EQ(w.body, "ACL not found");
  EXPECT_EQ(lagging.barriers, 2);
  EXPECT_FALSE(rep.catalog().view()->services.find("web"));
}

TEST_F(AclBarrierTest, WritesWaitForTheBarrierThenProposeOnce) {
  std::string tok = tokenElsewhere("a3");
  auto r = call("PUT", "/v1/agent/service/register", tok, R"({"Name":"web","Port":80})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(lagging.barriers, 1);
  EXPECT_TRUE(rep.catalog().view()->services.find("web"));
}

TEST_F(AclBarrierTest, BlockingQueriesWaitForTheBarrierThenBlock) {
  std::string tok = tokenElsewhere("a4");
  auto req = makeRequest("GET", "/v1/catalog/services?index=1000000&wait=1s", tok);
  Outcome out = api->handle(req);
  ASSERT_TRUE(std::holds_alternative<Gated>(out));
  auto g = std::get<Gated>(std::move(out));
  std::optional<Status> opened;
  g.wait([&](Status st) { opened = std::move(st); });
  lagging.releaseBarriers();
  ASSERT_TRUE(opened && opened->ok());
  Outcome next = g.then(req, *opened);
  auto* b = std::get_if<Blocking>(&next);
  ASSERT_NE(b, nullptr);
  Response answer = b->render();
  EXPECT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(lagging.barriers, 1);
}

TEST_F(AclBarrierTest, AKnownTokenTakesNoExtraBarrier) {
  // A write: proposed at once.
  auto out = api->handle(
      makeRequest("PUT", "/v1/agent/service/register", mgmt, R"({"Name":"db","Port":5432})"));
  ASSERT_TRUE(std::holds_alternative<Deferred>(out));
  std::optional<Response> got;
  std::get<Deferred>(out).start([&](Response r) { got = std::move(r); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(lagging.barriers, 0);
  // A default read: only its own barrier.
  auto r = call("GET", "/v1/catalog/services", mgmt);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(lagging.barriers, 1);
}

TEST_F(AclBarrierTest, StaleReadsAndSingleServersRefuseAtOnce) {
  std::string tok = tokenElsewhere("a5");
  auto out = api->handle(makeRequest("GET", "/v1/catalog/services?stale", tok));
  ASSERT_TRUE(std::holds_alternative<Response>(out));
  EXPECT_EQ(std::get<Response>(out).status, 403);
  lagging.cluster = false;
  out = api->handle(makeRequest("GET", "/v1/catalog/services", tok));
  ASSERT_TRUE(std::holds_alternative<Response>(out));
  EXPECT_EQ(std::get<Response>(out).status, 403);
  EXPECT_EQ(lagging.barriers, 0);
}

TEST_F(AclBarrierTest, ABarrierWithoutALeaderFailsAsAReadDoes) {
  gateResult = unavailable("No cluster leader");
  auto read = call("GET", "/v1/catalog/services", mgmt);
  std::string tok = tokenElsewhere("a6");
  auto gated = call("PUT", "/v1/agent/service/register", tok, R"({"Name":"web"})");
  EXPECT_EQ(read.status, 500);
  EXPECT_EQ(read.body, "No cluster leader");
  EXPECT_EQ(gated.status, read.status);
  EXPECT_EQ(gated.body, read.body);
  EXPECT_FALSE(rep.catalog().view()->services.find("web"));
}

// The same through the HTTP server: the session waits for the gate, then
// answers on its own thread with what the handler gives after it.
TEST(AclBarrierServer, TheSessionWaitsForTheGateThenAnswers) {
  testing::SyncReplicator rep;
  LaggingReplicator lagging{rep};
  ApiOptions o;
  o.acl.enabled = true;
  o.acl.defaultAccess = registry::acl::Access::kDeny;
  Api api(rep.catalog().watches(), lagging,
          AgentIdentity{"node1", "id-1", "dc1", "127.0.0.1", 8300, "t"}, o);
  ServerConfig cfg;
  cfg.port = 0;
  auto http = std::move(HttpServer::create(cfg, api).value());
  // Bootstrapped through "another server": the policy and token arrive
  // with the first barrier.
  registry::AclCommand boot;
  boot.op = registry::AclCommand::Op::kBootstrap;
  boot.token.accessorId = "acc-1";
  boot.token.secretId = "fresh";
  boot.token.createTime = "2026-11-27T20:00:00Z";
  lagging.commitElsewhere(boot);

  auto send = [&](const std::string& method, const std::string& target, const std::string& token,
                  std::string body = "") {
    return std::async(std::launch::async, [&, method, target, token, body] {
      return testing::roundTrip(
          http->port(), method + " " + target + " HTTP/1.1\r\nHost: x\r\nX-Consul-Token: " + token +
                            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                            body);
    });
  };
  // Releases the barriers once `n` have been started in all.
  auto releaseWhenWaiting = [&](int n) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (lagging.barriers < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    EXPECT_EQ(lagging.barriers, n);
    lagging.releaseBarriers();
  };

  // A write: proposed once the gate opens.
  auto write = send("PUT", "/v1/agent/service/register", "fresh", R"({"Name":"web","Port":80})");
  releaseWhenWaiting(1);
  std::string w = write.get();
  EXPECT_EQ(testing::statusOf(w), 200) << w;
  EXPECT_TRUE(rep.catalog().view()->services.find("web"));

  // A blocking query: waits at the current index once the gate opens (and
  // times out here, as nothing changes).
  registry::AclCommand tok;
  tok.op = registry::AclCommand::Op::kSetToken;
  tok.token.accessorId = "acc-2";
  tok.token.secretId = "fresh-2";
  tok.token.policyIds = {std::string(registry::acl::kManagementPolicyId)};
  lagging.commitElsewhere(tok);
  std::string now = send("GET", "/v1/catalog/services?stale", "fresh").get();
  std::string index = now.substr(now.find("X-Consul-Index: ") + 16);
  index = index.substr(0, index.find("\r\n"));
  auto started = std::chrono::steady_clock::now();
  auto blocking = send("GET", "/v1/catalog/services?index=" + index + "&wait=50ms", "fresh-2");
  releaseWhenWaiting(2);
  std::string b = blocking.get();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
  EXPECT_EQ(testing::statusOf(b), 200) << b;
  EXPECT_NE(b.find("\"web\""), std::string::npos) << b;

  // A token unknown after the gate too: refused.
  auto unknown = send("GET", "/v1/catalog/services", "nobody");
  releaseWhenWaiting(3);
  std::string u = unknown.get();
  EXPECT_EQ(testing::statusOf(u), 403) << u;
  EXPECT_NE(u.find("ACL not found"), std::string::npos) << u;
  http->stop();
}

}  // namespace
}  // namespace cairn::http
