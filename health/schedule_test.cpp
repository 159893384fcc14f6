#include "health/schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace cairn::health {
namespace {

using std::chrono::milliseconds;

TEST(Schedule, FirstRunIsWithinTheInterval) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 10000; ++i) {
    auto d = firstRunDelay(milliseconds(10000), rng);
    EXPECT_GE(d.count(), 0);
    EXPECT_LT(d.count(), 10000);
  }
  EXPECT_EQ(firstRunDelay(milliseconds(0), rng).count(), 0);
}

TEST(Schedule, FirstRunsSpreadEvenlyNoThunderingHerd) {
  // 10,000 checks with a 10 s interval: in every 100 ms slot of the
  // interval, about 100 first runs, never a pile-up at one instant.
  std::mt19937_64 rng(7);
  std::vector<int> slots(100, 0);
  for (int i = 0; i < 10000; ++i) ++slots[firstRunDelay(milliseconds(10000), rng).count() / 100];
  EXPECT_LE(*std::max_element(slots.begin(), slots.end()), 150);
  EXPECT_GE(*std::min_element(slots.begin(), slots.end()), 50);
}

TEST(Schedule, NextRunKeepsThePhase) {
  using TP = std::chrono::steady_clock::time_point;
  TP due{milliseconds(1234)};
  // Started 40 ms late: the next run is still due + interval.
  EXPECT_EQ(nextRunAfter(due, due + milliseconds(40), milliseconds(1000)),
            due + milliseconds(1000));
  // A stall of 3.5 intervals skips the missed runs instead of bursting.
  EXPECT_EQ(nextRunAfter(due, due + milliseconds(3500), milliseconds(1000)),
            due + milliseconds(4000));
  // Exactly on a boundary: strictly later than now.
  EXPECT_EQ(nextRunAfter(due, due + milliseconds(2000), milliseconds(1000)),
            due + milliseconds(3000));
}

}  // namespace
}  // namespace cairn::health
