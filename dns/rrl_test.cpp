#include "dns/rrl.hpp"

#include <gtest/gtest.h>

#include "common/sockaddr_test_util.hpp"

namespace cairn::dns {
namespace {

using cairn::testing::addr;
using V = RateLimiter::Verdict;
constexpr uint64_t kSecond = 1'000'000'000ull;

V admit(RateLimiter& r, const char* a, uint64_t now) {
  auto s = addr(a);
  return r.admit(reinterpret_cast<const sockaddr*>(&s), now);
}

std::unique_ptr<RateLimiter> limiter(uint32_t rps, uint32_t slip) {
  RateLimitConfig c;
  c.enabled = true;
  c.responsesPerSecond = rps;
  c.slip = slip;
  auto r = RateLimiter::create(c);
  EXPECT_TRUE(r.ok());
  return std::move(*r);
}

TEST(RateLimiter, AnswersUpToTheRateThenSlipsOneInN) {
  auto r = limiter(10, 3);
  uint64_t t = kSecond;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(admit(*r, "192.0.2.1", t), V::kAnswer) << i;
  // Over the limit: drop, drop, slip (truncated), drop, drop, slip...
  EXPECT_EQ(admit(*r, "192.0.2.1", t), V::kDrop);
  EXPECT_EQ(admit(*r, "192.0.2.1", t), V::kDrop);
  EXPECT_EQ(admit(*r, "192.0.2.1", t), V::kSlip);
  EXPECT_EQ(admit(*r, "192.0.2.1", t), V::kDrop);
  // A tenth of a second later one more token (10 per second) has come.
  EXPECT_EQ(admit(*r, "192.0.2.1", t + kSecond / 10), V::kAnswer);
  EXPECT_EQ(admit(*r, "192.0.2.1", t + kSecond / 10), V::kDrop);
  // After a full second the bucket is full again (the burst, no more).
  int answered = 0;
  for (int i = 0; i < 30; ++i) answered += admit(*r, "192.0.2.1", t + 3 * kSecond) == V::kAnswer;
  EXPECT_EQ(answered, 10);
}

TEST(RateLimiter, OnePrefixSharesABucketOthersDoNot) {
  auto r = limiter(5, 0);
  uint64_t t = kSecond;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(admit(*r, i % 2 ? "198.51.100.1" : "198.51.100.77", t), V::kAnswer);
  // The same /24: limited together; slip 0 drops everything over.
  EXPECT_EQ(admit(*r, "198.51.100.200", t), V::kDrop);
  // Another /24 and an IPv6 client are not affected.
  EXPECT_EQ(admit(*r, "198.51.101.1", t), V::kAnswer);
  EXPECT_EQ(admit(*r, "2001:db8:0:1::1", t), V::kAnswer);
  // IPv6 groups by /56: 2001:db8:0:1:: and 2001:db8:0:ff:: share one.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(admit(*r, "2001:db8:0:ff::9", t), V::kAnswer);
  EXPECT_EQ(admit(*r, "2001:db8:0:1::2", t), V::kDrop);
  EXPECT_EQ(admit(*r, "2001:db8:0:100::2", t), V::kAnswer);  // another /56
}

TEST(RateLimiter, ExemptClientsAreNeverLimited) {
  auto r = limiter(1, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(admit(*r, "127.0.0.1", kSecond), V::kAnswer);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(admit(*r, "::1", kSecond), V::kAnswer);
  EXPECT_EQ(admit(*r, "203.0.113.5", kSecond), V::kAnswer);
  EXPECT_EQ(admit(*r, "203.0.113.5", kSecond), V::kSlip);  // slip 1: always truncated
}

TEST(RateLimiter, RefusesBadConfig) {
  RateLimitConfig c;
  c.responsesPerSecond = 0;
  EXPECT_FALSE(RateLimiter::create(c).ok());
  c = {};
  c.ipv4PrefixLength = 33;
  EXPECT_FALSE(RateLimiter::create(c).ok());
  c = {};
  c.exempt = {"not-a-net"};
  auto r = RateLimiter::create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exempt"), std::string::npos);
}

}  // namespace
}  // namespace cairn::dns
