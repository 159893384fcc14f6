#include "dns/load_table.hpp"

#include <gtest/gtest.h>

namespace cairn::dns {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  int64_t ns = 1'000'000'000;
  LoadTable::Clock fn() {
    return [this] { return ns; };
  }
};

TEST(LoadTableTest, ReportReadAndExpire) {
  FakeClock clock;
  LoadTable t({.defaultTtl = 10s}, clock.fn());
  EXPECT_TRUE(std::isnan(t.load("n1", "web-1")));
  EXPECT_TRUE(t.report("n1", "web-1", 0.5));
  EXPECT_EQ(t.load("n1", "web-1"), 0.5);
  EXPECT_TRUE(std::isnan(t.load("n2", "web-1")));
  clock.ns += 9'999'000'000;
  EXPECT_EQ(t.load("n1", "web-1"), 0.5);
  clock.ns += 1'000'000;
  EXPECT_TRUE(std::isnan(t.load("n1", "web-1")));
  EXPECT_EQ(t.reportsTotal(), 1u);
}

TEST(LoadTableTest, RejectsBadValuesAndCapsTtl) {
  FakeClock clock;
  LoadTable t({.defaultTtl = 10s, .maxTtl = 60s}, clock.fn());
  EXPECT_FALSE(t.report("n", "s", -1));
  EXPECT_FALSE(t.report("n", "s", NAN));
  EXPECT_FALSE(t.report("n", "s", INFINITY));
  EXPECT_TRUE(t.report("n", "s", 3, 1h));
  clock.ns += 61'000'000'000;
  EXPECT_TRUE(std::isnan(t.load("n", "s")));
}

TEST(LoadTableTest, SlotsSeeLaterReportsLockFree) {
  FakeClock clock;
  LoadTable t({}, clock.fn());
  auto slot = t.slot("n", "s");
  EXPECT_TRUE(std::isnan(LoadTable::read(*slot, clock.ns)));
  ASSERT_TRUE(t.report("n", "s", 7));
  EXPECT_EQ(LoadTable::read(*slot, clock.ns), 7);
  EXPECT_EQ(t.slot("n", "s"), slot);
}

TEST(LoadTableTest, FullTableDropsNewKeysAndSweepsExpired) {
  FakeClock clock;
  LoadTable t({.defaultTtl = 1s, .maxEntries = 2000}, clock.fn());
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(t.report("n", std::to_string(i), 1));
  EXPECT_FALSE(t.report("n", "extra", 1));
  clock.ns += 2'000'000'000;  // all expired: the next new key sweeps them
  EXPECT_TRUE(t.report("n", "extra", 1));
  EXPECT_LT(t.size(), 10u);
}

}  // namespace
}  // namespace cairn::dns
