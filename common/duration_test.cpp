#include "common/duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace cairn {
namespace {

TEST(Duration, ParsesGoUnits) {
  EXPECT_EQ(*parseDuration("10s"), 10s);
  EXPECT_EQ(*parseDuration("1m30s"), 90s);
  EXPECT_EQ(*parseDuration("250ms"), 250ms);
  EXPECT_EQ(*parseDuration("1h"), 3600s);
  EXPECT_EQ(*parseDuration("1.5s"), 1500ms);
}

TEST(Duration, BareNumberIsSeconds) {
  EXPECT_EQ(*parseDuration("5"), 5s);
}

TEST(Duration, RefusesGarbage) {
  EXPECT_FALSE(parseDuration("").ok());
  EXPECT_FALSE(parseDuration("abc").ok());
  EXPECT_FALSE(parseDuration("10x").ok());
  EXPECT_FALSE(parseDuration("-5s").ok());
  EXPECT_FALSE(parseDuration("99999999999999999999h").ok());
}

TEST(Duration, Formats) {
  EXPECT_EQ(formatDuration(10s), "10s");
  EXPECT_EQ(formatDuration(90s), "1m30s");
  EXPECT_EQ(formatDuration(250ms), "250ms");
}

}  // namespace
}  // namespace cairn
