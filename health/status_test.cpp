#include "health/status.hpp"

#include <gtest/gtest.h>

namespace cairn::health {
namespace {

using registry::HealthStatus;
using std::chrono::minutes;
using std::chrono::seconds;
constexpr auto kP = HealthStatus::kPassing;
constexpr auto kW = HealthStatus::kWarning;
constexpr auto kC = HealthStatus::kCritical;

const Clock::time_point kT0{};

TEST(Thresholds, WarningDefaultsToCritical) {
  registry::CheckDefinition d;
  d.failuresBeforeCritical = 3;
  EXPECT_EQ(Thresholds::of(d).failuresBeforeWarning, 3);
  d.failuresBeforeWarning = 1;
  EXPECT_EQ(Thresholds::of(d).failuresBeforeWarning, 1);
}

TEST(StatusMachine, ZeroThresholdsReportEveryChangeAtOnce) {
  StatusMachine m({}, kC, "", kT0);
  auto u = m.onResult(kP, "HTTP GET x: 200 OK", kT0 + seconds(1));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, kP);
  auto c = m.onResult(kC, "refused", kT0 + seconds(2));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, kC);
  auto w = m.onResult(kW, "429", kT0 + seconds(3));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->status, kW);
}

TEST(StatusMachine, SameResultWritesNothing) {
  StatusMachine m({}, kP, "ok", kT0);
  for (int i = 1; i < 100; ++i) EXPECT_FALSE(m.onResult(kP, "ok", kT0 + seconds(i)));
}

TEST(StatusMachine, SuccessBeforePassingNeedsThatManyInARow) {
  StatusMachine m({2, 0, 0}, kC, "", kT0);
  EXPECT_FALSE(m.onResult(kP, "ok", kT0 + seconds(1)));
  // A failure in between restarts the count.
  EXPECT_FALSE(m.onResult(kC, "", kT0 + seconds(2)));  // already critical, same output
  EXPECT_FALSE(m.onResult(kP, "ok", kT0 + seconds(3)));
  auto u = m.onResult(kP, "ok", kT0 + seconds(4));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->status, kP);
}

TEST(StatusMachine, FailuresBeforeCriticalAndWarning) {
  // Consul's flapping example: warning after 1 failure, critical after 3.
  StatusMachine m({0, 1, 3}, kP, "ok", kT0);
  auto w = m.onResult(kC, "down", kT0 + seconds(1));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->status, kW);
  EXPECT_FALSE(m.onResult(kC, "down", kT0 + seconds(2)));  // still warning
  auto c = m.onResult(kC, "down", kT0 + seconds(3));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->status, kC);
  // One success resets the failure count.
  ASSERT_TRUE(m.onResult(kP, "ok", kT0 + seconds(4)));
  ASSERT_EQ(m.onResult(kC, "down", kT0 + seconds(5))->status, kW);
}

TEST(StatusMachine, FailuresBeforeCriticalAloneStaysPassingUntilReached) {
  StatusMachine m(Thresholds::of([] {
                    registry::CheckDefinition d;
                    d.failuresBeforeCritical = 3;
                    return d;
                  }()),
                  kP, "ok", kT0);
  EXPECT_FALSE(m.onResult(kC, "down", kT0 + seconds(1)));
  EXPECT_FALSE(m.onResult(kC, "down", kT0 + seconds(2)));
  ASSERT_EQ(m.onResult(kC, "down", kT0 + seconds(3))->status, kC);
}

TEST(StatusMachine, OutputChangeIsRateLimited) {
  StatusMachine m({}, kP, "t=0", kT0, minutes(5));
  EXPECT_FALSE(m.onResult(kP, "t=1", kT0 + minutes(1)));
  EXPECT_FALSE(m.onResult(kP, "t=2", kT0 + minutes(4)));
  auto u = m.onResult(kP, "t=5", kT0 + minutes(5));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->output, "t=5");
  // The window restarts at that write.
  EXPECT_FALSE(m.onResult(kP, "t=6", kT0 + minutes(6)));
  // A status change is never held back.
  ASSERT_TRUE(m.onResult(kC, "t=7", kT0 + minutes(7)));
}

TEST(StatusMachine, CatalogChangedIsTheNewBaseline) {
  StatusMachine m({}, kC, "", kT0);
  m.catalogChanged(kP, "ttl ok");
  EXPECT_FALSE(m.onResult(kP, "ttl ok", kT0 + seconds(1)));
  ASSERT_TRUE(m.onResult(kC, "expired", kT0 + seconds(2)));
}

}  // namespace
}  // namespace cairn::health
