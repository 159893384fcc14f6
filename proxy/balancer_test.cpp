#include "proxy/balancer.hpp"

#include <gtest/gtest.h>

#include <map>

namespace cairn::proxy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);

std::vector<Instance> three(uint32_t wa = 1, uint32_t wb = 1, uint32_t wc = 1) {
  return {{"n/a", "10.0.0.1", 80, wa}, {"n/b", "10.0.0.2", 80, wb}, {"n/c", "10.0.0.3", 80, wc}};
}

Balancer make(Policy p, std::vector<Instance> insts = three()) {
  BalancerConfig cfg;
  cfg.policy = p;
  cfg.seed = 42;
  Balancer b(cfg);
  b.setInstances(std::move(insts));
  return b;
}

std::map<std::string, int> count(Balancer& b, int n, TimePoint now = kT0) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    const Instance* inst = b.pick(now, "client-" + std::to_string(i));
    EXPECT_NE(inst, nullptr);
    if (inst) ++out[inst->id];
  }
  return out;
}

TEST(BalancerPolicy, ParsesEveryNameAndRefusesOthers) {
  for (auto name : {"round_robin", "weighted", "random", "least_request", "peak_ewma", "ring_hash"})
    EXPECT_EQ(policyName(*parsePolicy(name)), name);
  auto bad = parsePolicy("fastest");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("least_request"), std::string::npos);
}

TEST(BalancerConfigTest, ValidateNamesTheField) {
  BalancerConfig c;
  EXPECT_TRUE(c.validate().ok());
  c.ejectMax = milliseconds(10);
  EXPECT_NE(c.validate().error().message.find("eject_max"), std::string::npos);
}

TEST(Balancer, EmptyListPicksNothing) {
  Balancer b = make(Policy::kRandom, {});
  EXPECT_EQ(b.pick(kT0, "x"), nullptr);
}

TEST(Balancer, RoundRobinCyclesInOrder) {
  Balancer b = make(Policy::kRoundRobin);
  std::string seq;
  for (int i = 0; i < 6; ++i) seq += b.pick(kT0, "")->id.back();
  EXPECT_EQ(seq, "abcabc");
}

TEST(Balancer, WeightedMatchesWeightsExactlyAndInterleaves) {
  Balancer b = make(Policy::kWeighted, three(5, 3, 2));
  auto c = count(b, 1000);
  EXPECT_EQ(c["n/a"], 500);
  EXPECT_EQ(c["n/b"], 300);
  EXPECT_EQ(c["n/c"], 200);
  // Smooth: the heaviest never takes more than its share in a row.
  Balancer b2 = make(Policy::kWeighted, three(5, 3, 2));
  int run = 0, maxRun = 0;
  for (int i = 0; i < 100; ++i) {
    run = b2.pick(kT0, "")->id == "n/a" ? run + 1 : 0;
    maxRun = std::max(maxRun, run);
  }
  EXPECT_LE(maxRun, 2);
}

TEST(Balancer, WeightedNeverPicksWeightZero) {
  Balancer b = make(Policy::kWeighted, three(1, 0, 1));
  auto c = count(b, 100);
  EXPECT_EQ(c["n/b"], 0);
  EXPECT_EQ(c["n/a"], 50);
}

TEST(Balancer, RandomIsUniformWithinTolerance) {
  Balancer b = make(Policy::kRandom);
  auto c = count(b, 30000);
  for (auto& [id, n] : c) EXPECT_NEAR(n, 10000, 500) << id;  // ~5 sigma
}

TEST(Balancer, RandomIsReproducibleWithTheSameSeed) {
  Balancer a = make(Policy::kRandom), b = make(Policy::kRandom);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.pick(kT0, "")->id, b.pick(kT0, "")->id);
}

TEST(Balancer, LeastRequestFavoursTheIdleInstance) {
  Balancer b = make(Policy::kLeastRequest);
  for (int i = 0; i < 10; ++i) b.onConnectionStart("n/a");  // a is busy
  for (int i = 0; i < 2; ++i) b.onConnectionStart("n/b");
  auto c = count(b, 3000);
  // P2C: a wins only when drawn twice, which distinct draws never do.
  EXPECT_EQ(c["n/a"], 0);
  // c (0 active) beats b (2 active) whenever both are drawn: c ~ 2/3.
  EXPECT_NEAR(c["n/c"], 2000, 150);
  EXPECT_NEAR(c["n/b"], 1000, 150);
}

TEST(Balancer, LeastRequestEvensOutActiveConnections) {
  Balancer b = make(Policy::kLeastRequest);
  for (int i = 0; i < 300; ++i) b.onConnectionStart(b.pick(kT0, "")->id);
  for (const auto& s : b.stats(kT0)) EXPECT_NEAR(s.active, 100, 2) << s.id;
}

TEST(Balancer, PeakEwmaFavoursTheFastInstance) {
  Balancer b = make(Policy::kPeakEwma);
  b.observeLatency("n/a", milliseconds(100), kT0);  // slow
  b.observeLatency("n/b", milliseconds(1), kT0);
  b.observeLatency("n/c", milliseconds(1), kT0);
  auto c = count(b, 3000);
  EXPECT_EQ(c["n/a"], 0);
  EXPECT_NEAR(c["n/b"], 1500, 150);
}

TEST(Balancer, PeakEwmaWeighsLatencyByActiveConnections) {
  Balancer b = make(Policy::kPeakEwma);
  for (auto id : {"n/a", "n/b", "n/c"}) b.observeLatency(id, milliseconds(10), kT0);
  // b: 10ms x (4+1) = 50 > c: 10ms x 1; a: 10ms x (1+1) = 20.
  for (int i = 0; i < 4; ++i) b.onConnectionStart("n/b");
  b.onConnectionStart("n/a");
  auto c = count(b, 3000);
  EXPECT_EQ(c["n/b"], 0);
  EXPECT_NEAR(c["n/c"], 2000, 150);
}

TEST(Balancer, PeakEwmaTakesPeaksAtOnceAndForgetsThemWithTime) {
  BalancerConfig cfg;
  cfg.policy = Policy::kPeakEwma;
  cfg.ewmaDecay = milliseconds(1000);
  Balancer b(cfg);
  b.setInstances(three());
  b.observeLatency("n/a", milliseconds(1), kT0);
  b.observeLatency("n/a", milliseconds(50), kT0 + milliseconds(1));
  auto ewmaOf = [&](TimePoint now) { return b.stats(now)[0].ewmaMicros; };
  EXPECT_NEAR(ewmaOf(kT0 + milliseconds(1)), 50000, 1);
  // One time constant later: e^-1 of the peak.
  EXPECT_NEAR(ewmaOf(kT0 + milliseconds(1001)), 50000 * 0.3679, 50);
  // A low sample after one time constant moves the estimate most of the way.
  b.observeLatency("n/a", milliseconds(1), kT0 + milliseconds(1001));
  EXPECT_NEAR(ewmaOf(kT0 + milliseconds(1001)), 50000 * 0.3679 + 1000 * 0.6321, 50);
}

TEST(Balancer, RingHashIsStickyPerClient) {
  Balancer b = make(Policy::kRingHash);
  for (int i = 0; i < 50; ++i) {
    std::string key = "127.0.0." + std::to_string(i);
    std::string first = b.pick(kT0, key)->id;
    for (int j = 0; j < 5; ++j) EXPECT_EQ(b.pick(kT0, key)->id, first);
  }
}

TEST(Balancer, RingHashSpreadsKeysEvenly) {
  Balancer b = make(Policy::kRingHash);
  auto c = count(b, 30000);
  for (auto& [id, n] : c) EXPECT_NEAR(n, 10000, 1500) << id;
}

TEST(Balancer, RingHashRemovingAnInstanceMovesOnlyItsKeys) {
  Balancer b = make(Policy::kRingHash);
  std::map<std::string, std::string> before;
  for (int i = 0; i < 3000; ++i) {
    std::string key = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    before[key] = b.pick(kT0, key)->id;
  }
  auto insts = three();
  insts.erase(insts.begin() + 1);  // drop n/b
  b.setInstances(insts);
  int moved = 0;
  for (auto& [key, id] : before) {
    std::string now = b.pick(kT0, key)->id;
    if (id != "n/b") {
      EXPECT_EQ(now, id) << key;
    }
    if (now != id) ++moved;
  }
  EXPECT_NEAR(moved, 1000, 250);  // exactly b's keys, about a third
  // And adding it back restores the original mapping.
  b.setInstances(three());
  for (auto& [key, id] : before) EXPECT_EQ(b.pick(kT0, key)->id, id);
}

TEST(Balancer, RetryAvoidsTriedInstances) {
  for (Policy p : {Policy::kRoundRobin, Policy::kWeighted, Policy::kRandom, Policy::kLeastRequest,
                   Policy::kPeakEwma, Policy::kRingHash}) {
    Balancer b = make(p);
    std::vector<std::string> tried;
    for (int i = 0; i < 3; ++i) {
      const Instance* inst = b.pick(kT0, "k", tried);
      ASSERT_NE(inst, nullptr) << policyName(p);
      EXPECT_EQ(std::count(tried.begin(), tried.end(), inst->id), 0) << policyName(p);
      tried.push_back(inst->id);
    }
    EXPECT_EQ(b.pick(kT0, "k", tried), nullptr) << policyName(p);
  }
}

TEST(Balancer, EjectsAfterConsecutiveFailuresAndReturnsAfterBackoff) {
  Balancer b = make(Policy::kRoundRobin);  // ejectAfter 3, base 5 s
  EXPECT_FALSE(b.onConnectFailure("n/a", kT0));
  EXPECT_FALSE(b.onConnectFailure("n/a", kT0));
  EXPECT_TRUE(b.onConnectFailure("n/a", kT0));
  EXPECT_EQ(b.totalEjections(), 1u);
  auto during = count(b, 100, kT0 + milliseconds(4999));
  EXPECT_EQ(during["n/a"], 0);
  EXPECT_EQ(during["n/b"], 50);
  auto after = count(b, 99, kT0 + milliseconds(5000));
  EXPECT_EQ(after["n/a"], 33);
}

TEST(Balancer, SuccessResetsTheFailureCount) {
  Balancer b = make(Policy::kRoundRobin);
  b.onConnectFailure("n/a", kT0);
  b.onConnectFailure("n/a", kT0);
  b.onConnectSuccess("n/a");
  EXPECT_FALSE(b.onConnectFailure("n/a", kT0));
  EXPECT_FALSE(b.onConnectFailure("n/a", kT0));
}

TEST(Balancer, BackoffDoublesOnProbationFailuresUpToTheMax) {
  BalancerConfig cfg;
  cfg.ejectAfter = 2;
  cfg.ejectBase = milliseconds(1000);
  cfg.ejectMax = milliseconds(5000);
  Balancer b(cfg);
  b.setInstances(three());
  TimePoint t = kT0;
  b.onConnectFailure("n/a", t);
  ASSERT_TRUE(b.onConnectFailure("n/a", t));
  for (int64_t expect : {1000, 2000, 4000, 5000, 5000}) {
    EXPECT_TRUE(b.stats(t + milliseconds(expect - 1))[0].ejected) << expect;
    t += milliseconds(expect);
    EXPECT_FALSE(b.stats(t)[0].ejected) << expect;
    // On probation: a single failure ejects again, for twice as long.
    EXPECT_TRUE(b.onConnectFailure("n/a", t)) << expect;
  }
  // A success ends probation and resets the back-off.
  t += milliseconds(5000);
  b.onConnectSuccess("n/a");
  EXPECT_FALSE(b.onConnectFailure("n/a", t));
  EXPECT_TRUE(b.onConnectFailure("n/a", t));
  EXPECT_FALSE(b.stats(t + milliseconds(1000))[0].ejected);
}

TEST(Balancer, AllEjectedFallsBackToPanicMode) {
  Balancer b = make(Policy::kRandom);
  for (auto id : {"n/a", "n/b", "n/c"})
    for (int i = 0; i < 3; ++i) b.onConnectFailure(id, kT0);
  auto c = count(b, 300);
  EXPECT_EQ(c.size(), 3u);
}

TEST(Balancer, StateSurvivesAnUpdateThatKeepsTheInstance) {
  Balancer b = make(Policy::kLeastRequest);
  b.onConnectionStart("n/a");
  for (int i = 0; i < 3; ++i) b.onConnectFailure("n/c", kT0);
  auto insts = three();
  insts.push_back({"n/d", "10.0.0.4", 80, 1});
  b.setInstances(insts);
  auto s = b.stats(kT0);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].active, 1u);
  EXPECT_TRUE(s[2].ejected);
  // Reports about an instance that went away are ignored.
  b.setInstances({insts[3]});
  b.onConnectionEnd("n/a");
  EXPECT_FALSE(b.onConnectFailure("n/a", kT0));
}

}  // namespace
}  // namespace cairn::proxy
