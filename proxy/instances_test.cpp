#include "proxy/instances.hpp"

#include <gtest/gtest.h>

namespace cairn::proxy {
namespace {

TEST(DecodeHealthInstances, TakesServiceAddressElseNodeAddressAndWeights) {
  auto r = decodeHealthInstances(R"([
    {"Node":{"Node":"n1","Address":"10.0.0.1"},
     "Service":{"ID":"api-1","Service":"api","Address":"","Port":9001,
                "Weights":{"Passing":5,"Warning":1}},"Checks":[]},
    {"Node":{"Node":"n2","Address":"10.0.0.2"},
     "Service":{"ID":"api-2","Service":"api","Address":"192.168.1.9","Port":9002},"Checks":[]},
    {"Node":{"Node":"n3","Address":"10.0.0.3"},
     "Service":{"ID":"api-3","Service":"api","Port":0},"Checks":[]}
  ])");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0], (Instance{"n1/api-1", "10.0.0.1", 9001, 5}));
  EXPECT_EQ((*r)[1], (Instance{"n2/api-2", "192.168.1.9", 9002, 1}));
}

TEST(DecodeHealthInstances, RefusesWhatIsNotAList) {
  EXPECT_FALSE(decodeHealthInstances("{}").ok());
  EXPECT_FALSE(decodeHealthInstances("[1,").ok());
  EXPECT_TRUE(decodeHealthInstances("[]")->empty());
}

TEST(NextBlockingIndex, FollowsConsulsRules) {
  EXPECT_EQ(nextBlockingIndex(0, 7), 7u);
  EXPECT_EQ(nextBlockingIndex(7, 9), 9u);
  EXPECT_EQ(nextBlockingIndex(9, 9), 9u);  // timed out unchanged
  EXPECT_EQ(nextBlockingIndex(9, 3), 0u);  // went backwards: start over
  EXPECT_EQ(nextBlockingIndex(0, 0), 1u);  // never below 1
}

}  // namespace
}  // namespace cairn::proxy
