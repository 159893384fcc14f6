#include "common/cidr.hpp"

#include <gtest/gtest.h>

#include "common/sockaddr_test_util.hpp"

namespace cairn {
namespace {

using cairn::testing::addr;

bool contains(const char* cidr, const char* a) {
  auto c = Cidr::parse(cidr);
  EXPECT_TRUE(c.ok()) << cidr;
  auto s = addr(a);
  return c->contains(reinterpret_cast<const sockaddr*>(&s));
}

TEST(Cidr, MatchesPrefixes) {
  EXPECT_TRUE(contains("10.0.0.0/8", "10.200.1.1"));
  EXPECT_FALSE(contains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(contains("172.16.0.0/12", "172.31.255.255"));
  EXPECT_FALSE(contains("172.16.0.0/12", "172.32.0.0"));
  EXPECT_TRUE(contains("192.168.1.7", "192.168.1.7"));  // a bare address: one host
  EXPECT_FALSE(contains("192.168.1.7", "192.168.1.8"));
  EXPECT_TRUE(contains("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(contains("fc00::/7", "fd12::1"));
  EXPECT_FALSE(contains("fc00::/7", "fe80::1"));
  EXPECT_TRUE(contains("::1/128", "::1"));
  // IPv4-mapped IPv6 matches the IPv4 prefix, never an IPv6 one.
  EXPECT_TRUE(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
  EXPECT_FALSE(contains("::/0", "::ffff:127.0.0.1"));
  EXPECT_FALSE(contains("10.0.0.0/8", "::1"));
}

TEST(Cidr, ClearsHostBitsAndPrints) {
  auto c = Cidr::parse("10.1.2.3/8");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->toString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("2001:db8::1/32")->toString(), "2001:db8::/32");
}

TEST(Cidr, RefusesGarbageWithTheReason) {
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "::1/129", "host/8",
                          "10.0.0.0/8x", "10.0.0.0/-1"}) {
    auto c = Cidr::parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.error().message.find("not an address prefix"), std::string::npos);
  }
}

}  // namespace
}  // namespace cairn
