#include "server/leader_change.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cairn::server {
namespace {

using ::testing::HasSubstr;

constexpr raft::NodeId kSelf = 1, kOld = 2, kNew = 3;

TEST(LeaderChangeTest, ARequestIsLostOnceTheLeaderOrTheTermIsNoLongerTheOneItWentTo) {
  const LeaderTerm sent{kOld, 5};
  EXPECT_FALSE(leaderMoved(sent, {kOld, 5}));
  EXPECT_TRUE(leaderMoved(sent, {raft::kNone, 5})) << "election timeout: no leader";
  EXPECT_TRUE(leaderMoved(sent, {kNew, 6})) << "another leader";
  EXPECT_TRUE(leaderMoved(sent, {kSelf, 6})) << "this server won";
  EXPECT_TRUE(leaderMoved(sent, {kOld, 7})) << "the same leader, a new term";
  EXPECT_TRUE(leaderMoved(sent, {raft::kNone, 6})) << "a new term, no leader yet";
  // Sent as the leader: lost once this server is no longer the leader of that term.
  EXPECT_FALSE(leaderMoved({kSelf, 5}, {kSelf, 5}));
  EXPECT_TRUE(leaderMoved({kSelf, 5}, {raft::kNone, 5}));
}

TEST(LeaderChangeTest, TheErrorSaysTheOutcomeIsUnknownAndWhy) {
  const LeaderTerm sent{kOld, 5};
  std::string silent = movedWriteMessage(sent, {raft::kNone, 5}, kSelf, "10.0.0.2:8300");
  EXPECT_THAT(silent, HasSubstr("the leader at 10.0.0.2:8300 stopped answering"));
  EXPECT_THAT(silent, HasSubstr("outcome is unknown"));
  EXPECT_THAT(silent, HasSubstr("may have committed"));
  EXPECT_THAT(movedWriteMessage(sent, {kNew, 6}, kSelf, "a:1"),
              HasSubstr("a new leader was elected, term 6"));
  EXPECT_THAT(movedWriteMessage(sent, {kSelf, 6}, kSelf, "a:1"),
              HasSubstr("this server was elected leader, term 6"));
  EXPECT_THAT(movedWriteMessage(sent, {kOld, 7}, kSelf, "a:1"), HasSubstr("new term (7)"));
  std::string deposed = movedWriteMessage({kSelf, 5}, {raft::kNone, 5}, kSelf, "");
  EXPECT_THAT(deposed, HasSubstr("this server lost its leadership (no quorum"));
  EXPECT_THAT(deposed, HasSubstr("outcome is unknown"));
  EXPECT_THAT(movedWriteMessage({kSelf, 5}, {kNew, 6}, kSelf, ""),
              HasSubstr("another leader was elected, term 6"));
}

}  // namespace
}  // namespace cairn::server
