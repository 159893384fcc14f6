#include "raft/sim/linearizability.hpp"

#include <gtest/gtest.h>

#include "raft/sim/kv.hpp"

namespace cairn::raft::sim {
namespace {

HistoryOp w(const char* v, int64_t call, int64_t ret) {
  return {true, "k", v, call, ret};
}
HistoryOp r(const char* v, int64_t call, int64_t ret) {
  return {false, "k", v, call, ret};
}
constexpr int64_t kUnknown = std::numeric_limits<int64_t>::max();

TEST(Linearizability, SequentialHistoryIsLinearizable) {
  EXPECT_TRUE(checkLinearizable({w("a", 0, 1), r("a", 2, 3), w("b", 4, 5), r("b", 6, 7)}).ok);
}

TEST(Linearizability, StaleReadIsNot) {
  EXPECT_FALSE(checkLinearizable({w("a", 0, 1), w("b", 2, 3), r("a", 4, 5)}).ok);
}

TEST(Linearizability, ConcurrentOpsMayOrderEitherWay) {
  EXPECT_TRUE(checkLinearizable({w("a", 0, 10), r("a", 1, 2), r("", 0, 1)}).ok);
  EXPECT_TRUE(checkLinearizable({w("a", 0, 10), w("b", 0, 10), r("b", 11, 12), r("b", 13, 14)}).ok);
  EXPECT_FALSE(
      checkLinearizable({w("a", 0, 10), w("b", 0, 10), r("b", 11, 12), r("a", 13, 14)}).ok);
}

TEST(Linearizability, UnknownWriteMayTakeEffectLaterOrNever) {
  EXPECT_TRUE(checkLinearizable({w("a", 0, kUnknown), r("", 1, 2), r("a", 3, 4)}).ok);
  EXPECT_TRUE(checkLinearizable({w("a", 0, kUnknown), r("", 1, 2), r("", 3, 4)}).ok);
  EXPECT_FALSE(checkLinearizable({w("a", 0, kUnknown), r("a", 1, 2), r("", 3, 4)}).ok);
}

TEST(Linearizability, KeysAreIndependent) {
  std::vector<HistoryOp> h{w("a", 0, 1), r("a", 2, 3)};
  h.push_back({true, "other", "z", 0, 1});
  h.push_back({false, "other", "y", 2, 3});
  auto res = checkLinearizable(h);
  EXPECT_FALSE(res.ok);
  EXPECT_EQ(res.badKey, "other");
}

TEST(Kv, DeduplicatesAndRoundTrips) {
  KvStore kv;
  EXPECT_TRUE(kv.apply({1, 1, "k", "a"}));
  EXPECT_FALSE(kv.apply({1, 1, "k", "b"}));
  EXPECT_EQ(kv.get("k"), "a");
  KvStore copy;
  ASSERT_TRUE(copy.restore(kv.serialize()));
  EXPECT_EQ(copy.checksum(), kv.checksum());
  EXPECT_FALSE(copy.apply({1, 1, "k", "c"})) << "dedup state is in the snapshot";
  auto op = KvOp::decode(KvOp{3, 4, "key", "val"}.encode());
  ASSERT_TRUE(op.has_value());
  EXPECT_EQ(op->value, "val");
}

}  // namespace
}  // namespace cairn::raft::sim
