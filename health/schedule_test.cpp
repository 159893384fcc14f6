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

TEST(RunQueue, PopsInDueOrderOnlyWhatIsDue) {
  using TP = std::chrono::steady_clock::time_point;
  RunQueue<TP> q;
  TP t0{};
  std::mt19937_64 rng(7);
  std::vector<int64_t> dues;
  for (uint64_t i = 0; i < 1000; ++i) {
    auto d = static_cast<int64_t>(rng() % 10000);
    dues.push_back(d);
    q.push(t0 + milliseconds(d), i);
  }
  EXPECT_EQ(q.size(), 1000u);
  std::sort(dues.begin(), dues.end());
  EXPECT_EQ(q.earliest(), t0 + milliseconds(dues.front()));
  RunQueue<TP>::Item it{};
  // Nothing before the earliest due time.
  EXPECT_FALSE(q.popDue(t0 + milliseconds(dues.front()) - milliseconds(1), it));
  // Everything due by 5 s, in order, then nothing more.
  std::vector<int64_t> got;
  while (q.popDue(t0 + milliseconds(5000), it)) {
    EXPECT_EQ(it.id < 1000, true);
    got.push_back(std::chrono::duration_cast<milliseconds>(it.due - t0).count());
  }
  std::vector<int64_t> want;
  for (auto d : dues)
    if (d <= 5000) want.push_back(d);
  EXPECT_EQ(got, want);
  EXPECT_EQ(q.size(), 1000u - want.size());
  // The rest comes out later, still in order.
  got.clear();
  while (q.popDue(t0 + milliseconds(10000), it))
    got.push_back(std::chrono::duration_cast<milliseconds>(it.due - t0).count());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(got.size() + want.size(), 1000u);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.popDue(t0 + milliseconds(20000), it));
}

}  // namespace
}  // namespace cairn::health
