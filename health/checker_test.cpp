// The Checker against a catalog kept by a fake replicator: the commands it
// proposes are decoded and applied to the published view, as a server would.
#include "health/checker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <mutex>
#include <thread>

#include "health/metrics.hpp"
#include "health/rendezvous.hpp"
#include "registry/command.hpp"
#include "registry/view.hpp"

namespace cairn::health {
namespace {

using registry::Check;
using registry::HealthStatus;
using namespace std::chrono_literals;

class FakeReplicator final : public registry::Replicator {
 public:
  explicit FakeReplicator(registry::WatchHub& hub) : hub_(hub) {}

  void propose(std::string command, Done done) override {
    auto cmd = registry::decodeCommand(command);
    ASSERT_TRUE(cmd.ok());
    {
      std::lock_guard lk(mu_);
      std::vector<registry::CheckStatusCommand> updates;
      if (auto* one = std::get_if<registry::CheckStatusCommand>(&*cmd)) updates.push_back(*one);
      if (auto* b = std::get_if<registry::CheckStatusBatchCommand>(&*cmd)) {
        updates = b->updates;
        ++batches_;
      }
      for (const auto& u : updates) {
        const auto* cs = &u;
        ++statusWrites_;
        auto next = std::make_shared<registry::View>(*hub_.view());
        auto key = registry::instanceKey(cs->node, cs->checkId);
        if (const auto* old = next->checks.find(key)) {
          auto c = std::make_shared<Check>(**old);
          c->status = cs->status;
          c->output = cs->output;
          next->checks = next->checks.set(key, c);
          next->index = next->checksIndex = next->index + 1;
          hub_.publish(next, {std::string(registry::kChecksTableKey)});
        }
      }
      if (auto* d = std::get_if<registry::DeregisterCommand>(&*cmd)) {
        deregistered_.push_back(d->serviceId);
      }
    }
    done(uint64_t{1});
  }
  std::string leader() const override { return ""; }
  std::vector<std::string> peers() const override { return {}; }
  std::vector<ServerInfo> servers() const override { return {}; }
  std::string selfId() const override { return self_; }
  Liveness liveness() const override {
    std::lock_guard lk(mu_);
    return liveness_;
  }
  uint32_t clusterCommandVersion() const override { return version_; }
  void forwardTtl(const std::string& serverId, TtlReport r) override {
    std::lock_guard lk(mu_);
    forwarded_.emplace_back(serverId, r.checkId);
  }

  // Before the checker is created: which server this is, the command version.
  void setSelf(std::string self) { self_ = std::move(self); }
  void setVersion(uint32_t v) { version_ = v; }
  void setLiveness(Liveness l) {
    std::lock_guard lk(mu_);
    liveness_ = std::move(l);
  }
  std::vector<std::pair<std::string, std::string>> forwarded() {
    std::lock_guard lk(mu_);
    return forwarded_;
  }

  int batches() {
    std::lock_guard lk(mu_);
    return batches_;
  }
  int statusWrites() {
    std::lock_guard lk(mu_);
    return statusWrites_;
  }
  std::vector<std::string> deregistered() {
    std::lock_guard lk(mu_);
    return deregistered_;
  }

 private:
  registry::WatchHub& hub_;
  mutable std::mutex mu_;
  std::string self_;
  uint32_t version_ = 1;
  Liveness liveness_{1, {}, false};
  std::vector<std::pair<std::string, std::string>> forwarded_;
  int statusWrites_ = 0;
  int batches_ = 0;
  std::vector<std::string> deregistered_;
};

void addCheck(registry::WatchHub& hub, Check c) {
  auto next = std::make_shared<registry::View>(*hub.view());
  auto key = registry::instanceKey(c.node, c.checkId);
  next->checks = next->checks.set(std::move(key), std::make_shared<Check>(std::move(c)));
  next->index = next->checksIndex = next->index + 1;
  hub.publish(next, {std::string(registry::kChecksTableKey)});
}

// A TTL check on n1 (critical, as registered, unless `status` says otherwise).
Check ttlCheck(std::string id, std::string ttl, HealthStatus status = HealthStatus::kCritical) {
  Check c;
  c.node = "n1";
  c.checkId = std::move(id);
  c.type = "ttl";
  c.status = status;
  c.definition.ttl = std::move(ttl);
  return c;
}

// A TCP check on n1 that connects to 127.0.0.1:`port` every `interval`.
Check tcpCheck(std::string id, uint16_t port, std::string interval) {
  Check c;
  c.node = "n1";
  c.checkId = std::move(id);
  c.type = "tcp";
  c.definition.tcp = "127.0.0.1:" + std::to_string(port);
  c.definition.interval = std::move(interval);
  return c;
}

// The check as the catalog holds it now; fails the test if it is missing.
Check get(registry::WatchHub& hub, const std::string& id) {
  registry::ViewPtr v = hub.view();
  const auto* c = v->checks.find(registry::instanceKey("n1", id));
  EXPECT_TRUE(c) << id;
  return c ? **c : Check{};
}

bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

CheckerConfig fastConfig() {
  CheckerConfig c;
  c.minInterval = 10ms;
  c.batchWindow = 5ms;
  c.reapEvery = 20ms;
  c.seed = 1;
  return c;
}

class CheckerTest : public ::testing::Test {
 protected:
  // This server is "a"; the leader's list of live servers is `live`.
  void liveServers(std::vector<std::string> live) {
    rep_.setSelf("a");
    rep_.setLiveness({2, std::move(live), false});
  }

  registry::WatchHub hub_{std::make_shared<registry::View>()};
  FakeReplicator rep_{hub_};
};

TEST_F(CheckerTest, TcpCheckGoesPassingThenStaysQuiet) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  addCheck(hub_, tcpCheck("tcp1", a.local_endpoint().port(), "20ms"));
  ASSERT_TRUE(waitFor([&] { return get(hub_, "tcp1").status == HealthStatus::kPassing; }));
  int writes = rep_.statusWrites();
  std::this_thread::sleep_for(200ms);  // about 10 more probes, all passing
  EXPECT_EQ(rep_.statusWrites(), writes);
  a.close();
  ASSERT_TRUE(waitFor([&] { return get(hub_, "tcp1").status == HealthStatus::kCritical; }));
}

// The sample value of one series in the metrics text ("" if missing).
std::string metric(const CheckerMetrics& m, const std::string& series) {
  std::string out = "\n";
  m.render(out);
  size_t at = out.find("\n" + series + " ");
  if (at == std::string::npos) return "";
  size_t start = at + series.size() + 2;
  return out.substr(start, out.find('\n', start) - start);
}

TEST_F(CheckerTest, MetricsCountChecksProbesAndLateness) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  CheckerMetrics m;
  auto cfg = fastConfig();
  cfg.metrics = &m;
  auto checker = Checker::create(cfg, hub_, rep_);
  ASSERT_TRUE(checker.ok());
  addCheck(hub_, tcpCheck("tcp1", a.local_endpoint().port(), "20ms"));
  ASSERT_TRUE(waitFor([&] { return metric(m, "cairn_health_checks{type=\"tcp\"}") == "1"; }));
  ASSERT_TRUE(waitFor([&] {
    return std::stoull(metric(m, "cairn_health_probe_results_total{status=\"passing\"}")) >= 3;
  }));
  checker->reset();  // no more writes: the counts can be compared
  uint64_t started = std::stoull(metric(m, "cairn_health_probes_total{type=\"tcp\"}"));
  EXPECT_GE(started, 3u);
  EXPECT_EQ(metric(m, "cairn_health_check_lateness_seconds_count"), std::to_string(started));
  EXPECT_EQ(metric(m, "cairn_health_probes_total{type=\"http\"}"), "0");
  uint64_t finished = 0;
  for (const char* st : {"passing", "warning", "critical"})
    finished += std::stoull(
        metric(m, std::string("cairn_health_probe_results_total{status=\"") + st + "\"}"));
  EXPECT_LE(finished, started);  // a probe in flight at the end is not counted
  EXPECT_GE(finished + 1, started);
}

// 200 checks every 100 ms share one run queue and one timer that wakes at
// most every 30 ms: every check keeps its rate, and no run starts much later
// than the granularity.
TEST_F(CheckerTest, ManyChecksRunOnTimeFromOneQueue) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  CheckerMetrics m;
  auto cfg = fastConfig();
  cfg.metrics = &m;
  cfg.runGranularity = 30ms;
  auto checker = Checker::create(cfg, hub_, rep_);
  ASSERT_TRUE(checker.ok());
  auto next = std::make_shared<registry::View>(*hub_.view());
  for (int i = 0; i < 200; ++i) {
    Check c = tcpCheck("tcp" + std::to_string(i), a.local_endpoint().port(), "100ms");
    auto key = registry::instanceKey(c.node, c.checkId);
    next->checks = next->checks.set(std::move(key), std::make_shared<Check>(std::move(c)));
  }
  next->index = next->checksIndex = next->index + 1;
  hub_.publish(next, {std::string(registry::kChecksTableKey)});
  ASSERT_TRUE(waitFor([&] { return metric(m, "cairn_health_checks{type=\"tcp\"}") == "200"; }))
      << metric(m, "cairn_health_checks{type=\"tcp\"}") << " " << (*checker)->running();
  auto t0 = std::chrono::steady_clock::now();
  uint64_t s0 = std::stoull(metric(m, "cairn_health_probes_total{type=\"tcp\"}"));
  std::this_thread::sleep_for(1s);
  uint64_t s1 = std::stoull(metric(m, "cairn_health_probes_total{type=\"tcp\"}"));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  checker->reset();
  double rate = static_cast<double>(s1 - s0) / secs;  // expected: 200 / 0.1 s = 2,000/s
  EXPECT_GT(rate, 1500.0);
  EXPECT_LT(rate, 2200.0);
  // Generous for a loaded machine; a lost or stuck timer would show seconds.
  EXPECT_LT(std::stod(metric(m, "cairn_health_check_lateness_max_seconds")), 0.3);
  EXPECT_EQ(metric(m, "cairn_health_probes_skipped_total"), "0");
}

TEST_F(CheckerTest, TtlExpiresAndReportsRestartTheTimer) {
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  addCheck(hub_, ttlCheck("ttl1", "600ms", HealthStatus::kPassing));
  // Heartbeats every 100 ms keep it passing (the TTL leaves room for a loaded machine).
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    (*checker)->ttlReported({"n1", "ttl1", HealthStatus::kPassing, ""}, false);
  }
  EXPECT_EQ(get(hub_, "ttl1").status, HealthStatus::kPassing);
  EXPECT_EQ(rep_.statusWrites(), 0);
  ASSERT_TRUE(waitFor([&] { return get(hub_, "ttl1").status == HealthStatus::kCritical; }, 3s));
  EXPECT_EQ(get(hub_, "ttl1").output, "TTL expired");
}

TEST_F(CheckerTest, ScriptChecksOffByDefault) {
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  Check c;
  c.node = "n1";
  c.checkId = "script1";
  c.type = "script";
  c.definition.args = {"/bin/true"};
  c.definition.interval = "20ms";
  addCheck(hub_, c);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(get(hub_, "script1").status, HealthStatus::kCritical);
  EXPECT_EQ(rep_.statusWrites(), 0);
}

TEST_F(CheckerTest, ScriptChecksRunWhenEnabled) {
  auto cfg = fastConfig();
  cfg.enableScriptChecks = true;
  auto checker = Checker::create(cfg, hub_, rep_);
  ASSERT_TRUE(checker.ok());
  Check c;
  c.node = "n1";
  c.checkId = "script1";
  c.type = "script";
  c.definition.args = {"/bin/sh", "-c", "echo up"};
  c.definition.interval = "20ms";
  addCheck(hub_, c);
  ASSERT_TRUE(waitFor([&] { return get(hub_, "script1").status == HealthStatus::kPassing; }));
  EXPECT_EQ(get(hub_, "script1").output, "up\n");
}

TEST_F(CheckerTest, DeregistersAServiceCriticalForTooLong) {
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  Check c = ttlCheck("ttl2", "10s");
  c.serviceId = "svc1";
  c.definition.deregisterCriticalServiceAfter = "100ms";
  addCheck(hub_, c);  // critical from the start
  ASSERT_TRUE(waitFor([&] { return !rep_.deregistered().empty(); }, 5s));
  EXPECT_EQ(rep_.deregistered(), std::vector<std::string>{"svc1"});
}

// Passing TTL checks that expire in 50 ms: those that run here turn critical.
void addTtlChecks(registry::WatchHub& hub, int n) {
  for (int i = 0; i < n; ++i)
    addCheck(hub, ttlCheck("ttl" + std::to_string(i), "50ms", HealthStatus::kPassing));
}

// Whether the checks of addTtlChecks(hub, n) are all critical now.
bool allTtlChecksCritical(registry::WatchHub& hub, int n) {
  for (int i = 0; i < n; ++i)
    if (get(hub, "ttl" + std::to_string(i)).status != HealthStatus::kCritical) return false;
  return true;
}

std::string ownerOf(int i, const std::vector<std::string>& live) {
  return rendezvousOwner(registry::instanceKey("n1", "ttl" + std::to_string(i)), live);
}

// Two live servers, a and b: this one (a) runs exactly the checks it wins.
TEST_F(CheckerTest, OnlyOwnedChecksRun) {
  liveServers({"a", "b"});
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  constexpr int kChecks = 40;
  addTtlChecks(hub_, kChecks);
  size_t mine = 0;
  for (int i = 0; i < kChecks; ++i) mine += ownerOf(i, {"a", "b"}) == "a";
  ASSERT_GT(mine, 0u);
  ASSERT_LT(mine, size_t{kChecks});
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() == mine; }));
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < kChecks; ++i) {
    auto want = ownerOf(i, {"a", "b"}) == "a" ? HealthStatus::kCritical : HealthStatus::kPassing;
    EXPECT_EQ(get(hub_, "ttl" + std::to_string(i)).status, want) << i;
  }
}

// b dies (the leader publishes a list without it): a takes its checks.
TEST_F(CheckerTest, ChecksMoveWhenTheLiveServersChange) {
  liveServers({"a", "b"});
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  constexpr int kChecks = 20;
  addTtlChecks(hub_, kChecks);
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() > 0; }));
  ASSERT_LT((*checker)->running(), size_t{kChecks});
  rep_.setLiveness({3, {"a"}, false});
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() == kChecks; }, 3s));
  ASSERT_TRUE(waitFor([&] { return allTtlChecksCritical(hub_, kChecks); }));
}

// Cut off from the leader for longer than staleGrace: runs nothing; back
// when the leader is heard again.
TEST_F(CheckerTest, CutOffServerStopsRunningChecks) {
  liveServers({"a"});
  auto cfg = fastConfig();
  cfg.ownershipPoll = 10ms;
  cfg.staleGrace = 300ms;
  auto checker = Checker::create(cfg, hub_, rep_);
  ASSERT_TRUE(checker.ok());
  addTtlChecks(hub_, 5);
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() == 5; }));
  rep_.setLiveness({2, {"a"}, true});
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ((*checker)->running(), 5u);  // an election is short: keep going
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() == 0; }, 3s));
  rep_.setLiveness({2, {"a"}, false});
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() == 5; }, 3s));
}

// A report for a check that runs elsewhere goes to that server, once: a
// report that came from another server is not passed on again.
TEST_F(CheckerTest, TtlReportsGoToTheServerRunningTheCheck) {
  liveServers({"a", "b"});
  auto checker = Checker::create(fastConfig(), hub_, rep_);
  ASSERT_TRUE(checker.ok());
  constexpr int kChecks = 20;
  addTtlChecks(hub_, kChecks);
  int theirs = -1;
  for (int i = 0; i < kChecks && theirs < 0; ++i)
    if (ownerOf(i, {"a", "b"}) == "b") theirs = i;
  ASSERT_GE(theirs, 0);
  ASSERT_TRUE(waitFor([&] { return (*checker)->running() > 0; }));
  std::string id = "ttl" + std::to_string(theirs);
  (*checker)->ttlReported({"n1", id, HealthStatus::kPassing, ""}, true);
  (*checker)->ttlReported({"n1", id, HealthStatus::kPassing, ""}, false);
  ASSERT_TRUE(waitFor([&] { return (*checker)->ttlForwarded() == 1; }));
  std::this_thread::sleep_for(50ms);
  auto fw = rep_.forwarded();
  ASSERT_EQ(fw.size(), 1u);
  EXPECT_EQ(fw[0], std::make_pair(std::string("b"), id));
}

TEST_F(CheckerTest, ChangesWithinTheWindowGoInOneBatch) {
  rep_.setVersion(2);  // every server applies batches
  auto cfg = fastConfig();
  cfg.batchWindow = 200ms;
  auto checker = Checker::create(cfg, hub_, rep_);
  ASSERT_TRUE(checker.ok());
  addTtlChecks(hub_, 20);
  ASSERT_TRUE(waitFor([&] { return allTtlChecksCritical(hub_, 20); }));
  EXPECT_EQ(rep_.statusWrites(), 20);
  EXPECT_LE(rep_.batches(), 2);  // the expiries fall in one window or two
  EXPECT_LE((*checker)->proposals(), 2u);
}

// A server that does not apply command version 2 yet: one command per change.
TEST_F(CheckerTest, NoBatchesUntilEveryServerAppliesThem) {
  auto cfg = fastConfig();
  cfg.batchWindow = 200ms;
  auto checker = Checker::create(cfg, hub_, rep_);
  ASSERT_TRUE(checker.ok());
  addTtlChecks(hub_, 10);
  ASSERT_TRUE(waitFor([&] { return rep_.statusWrites() == 10; }));
  EXPECT_EQ(rep_.batches(), 0);
  EXPECT_EQ((*checker)->proposals(), 10u);
}

}  // namespace
}  // namespace cairn::health
