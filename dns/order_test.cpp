#include "dns/order.hpp"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace cairn::dns {
namespace {

TEST(OrderTest, RngIsDeterministicPerSeed) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) {
    uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    EXPECT_NE(x, c.next());
  }
  Rng u(1);
  for (int i = 0; i < 10000; ++i) {
    double d = u.unit();
    ASSERT_GT(d, 0.0);
    ASSERT_LE(d, 1.0);
  }
}

// Over many orderings with a fixed seed, the first item's distribution
// matches the weights (chi-square, 3 degrees of freedom, p = 0.001 bound).
TEST(OrderTest, WeightedFirstFollowsWeights) {
  const std::array<uint32_t, 4> w = {1, 2, 3, 4};
  std::array<int, 4> first{};
  Rng rng(7);
  const int kRuns = 20000;
  for (int run = 0; run < kRuns; ++run) {
    std::vector<OrderItem> items;
    for (uint32_t i = 0; i < w.size(); ++i) items.push_back({i, w[i], NAN, 0});
    orderItems(items, Order::kWeighted, rng, 0);
    ++first[items[0].index];
  }
  double chi = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    double expect = kRuns * w[i] / 10.0;
    chi += (first[i] - expect) * (first[i] - expect) / expect;
  }
  EXPECT_LT(chi, 16.27) << first[0] << " " << first[1] << " " << first[2] << " " << first[3];
}

TEST(OrderTest, ZeroWeightComesLastAndAllItemsStay) {
  Rng rng(3);
  for (int run = 0; run < 200; ++run) {
    std::vector<OrderItem> items = {{0, 0, NAN, 0}, {1, 5, NAN, 0}, {2, 1, NAN, 0}};
    orderItems(items, Order::kWeighted, rng, 0);
    EXPECT_EQ(items[2].index, 0u);
    EXPECT_EQ(items[0].index + items[1].index, 3u);
  }
}

TEST(OrderTest, RoundRobinRotates) {
  Rng rng(1);
  for (uint64_t turn = 0; turn < 6; ++turn) {
    std::vector<OrderItem> items = {{0, 1, NAN, 0}, {1, 1, NAN, 0}, {2, 1, NAN, 0}};
    orderItems(items, Order::kRoundRobin, rng, turn);
    EXPECT_EQ(items[0].index, turn % 3);
    EXPECT_EQ(items[1].index, (turn + 1) % 3);
  }
}

TEST(OrderTest, LeastLoadedFirstThenUnreported) {
  Rng rng(9);
  std::vector<OrderItem> items = {{0, 1, NAN, 0}, {1, 1, 0.7, 0}, {2, 100, 0.9, 0}, {3, 1, 0.2, 0}};
  orderItems(items, Order::kLeastLoaded, rng, 0);
  EXPECT_EQ(items[0].index, 3u);
  EXPECT_EQ(items[1].index, 1u);
  EXPECT_EQ(items[2].index, 2u);
  EXPECT_EQ(items[3].index, 0u);
}

TEST(OrderTest, ParseAndPrint) {
  for (auto o : {Order::kWeighted, Order::kRoundRobin, Order::kLeastLoaded})
    EXPECT_EQ(parseOrder(toString(o)), o);
  EXPECT_FALSE(parseOrder("random"));
}

}  // namespace
}  // namespace cairn::dns
