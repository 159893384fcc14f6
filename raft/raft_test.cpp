// Unit tests of the core, named after the sections of Ongaro's thesis
// ("Consensus: Bridging Theory and Practice", 2014) whose rules they check.
#include "raft/raft.hpp"

#include <gtest/gtest.h>

#include "raft/test_network.hpp"

namespace cairn::raft {
namespace {

using testing::TestNetwork;

std::vector<std::string> appliedData(const testing::TestNode& n) {
  std::vector<std::string> out;
  for (const auto& e : n.applied)
    if (e.type == EntryType::kNormal && !e.data.empty()) out.push_back(e.data);
  return out;
}

TEST(RaftConfig, ValidationNamesTheField) {
  Config c;
  EXPECT_NE(c.validate().error().message.find("id"), std::string::npos);
  c.id = 1;
  c.electionTick = 1;
  EXPECT_NE(c.validate().error().message.find("electionTick"), std::string::npos);
  c.electionTick = 10;
  c.maxInflightMsgs = 0;
  EXPECT_NE(c.validate().error().message.find("maxInflightMsgs"), std::string::npos);
}

// Section 3.4: a single server elects itself.
TEST(Section3_4_LeaderElection, SingleNodeBecomesLeader) {
  TestNetwork net({1});
  net[1].campaign();
  net.settle();
  EXPECT_EQ(net[1].softState().role, Role::kLeader);
  EXPECT_EQ(net[1].hardState().term, 2u) << "bootstrap entries are term 1";
}

// Section 3.4: a candidate with votes from a majority becomes leader, and
// the others learn of it.
TEST(Section3_4_LeaderElection, ThreeNodesElectOne) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  EXPECT_EQ(net.leader(), 1u);
  EXPECT_EQ(net[2].softState().lead, 1u);
  EXPECT_EQ(net[3].softState().lead, 1u);
  EXPECT_EQ(net[2].hardState().vote, 1u);
}

// Section 3.4: randomized election timeouts in [electionTick, 2*electionTick).
TEST(Section3_4_LeaderElection, FollowerCampaignsAfterRandomizedTimeout) {
  TestNetwork net({1, 2, 3});
  int ticks = 0;
  while (net.leader() == kNone && ticks < 100) {
    net.tickAll();
    ++ticks;
  }
  EXPECT_NE(net.leader(), kNone);
  EXPECT_GE(ticks, 10);
  EXPECT_LT(ticks, 40);
}

// Section 3.5: entries are replicated and applied in order on every server.
TEST(Section3_5_LogReplication, ProposalsCommitEverywhere) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(net[1].propose("v" + std::to_string(i)).ok());
  net.settle();
  for (auto& [id, n] : net.nodes) {
    auto data = appliedData(n);
    ASSERT_EQ(data.size(), 20u) << "node " << id;
    EXPECT_EQ(data.front(), "v0");
    EXPECT_EQ(data.back(), "v19");
  }
}

// Section 3.5: a follower forwards proposals to the leader.
TEST(Section3_5_LogReplication, FollowerForwardsProposal) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  ASSERT_TRUE(net[3].propose("from-3").ok());
  net.settle();
  EXPECT_EQ(appliedData(net.nodes[1]), std::vector<std::string>{"from-3"});
}

// Section 3.5: a follower whose log diverges is brought back in line; fast
// back-tracking skips a term per round trip instead of an entry.
TEST(Section3_5_LogReplication, DivergentFollowerConvergesQuickly) {
  // Without check-quorum's lease, node 2 may campaign at once.
  TestNetwork net({1, 2, 3}, [](Config& c) { c.checkQuorum = false; });
  net[1].campaign();
  net.settle();
  net.isolate(1);
  // The isolated leader appends 50 entries nobody else gets.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(net[1].propose("lost").ok());
  net.settle();
  net[2].campaign();
  net.settle();
  ASSERT_EQ(net[2].softState().role, Role::kLeader);
  ASSERT_TRUE(net[2].propose("kept").ok());
  net.settle();
  net.heal();
  // Count the rejected appends while node 1 catches up: one per divergent
  // term, not one per divergent entry.
  int rejects = 0;
  for (int round = 0; round < 5; ++round) {
    for (auto& [id, n] : net.nodes) n.node->tick();
    for (int step = 0; step < 100; ++step) {
      bool any = false;
      for (auto& [id, n] : net.nodes) {
        while (n.node->hasReady()) {
          Ready rd = n.node->ready();
          if (rd.hardState) n.storage->setHardState(*rd.hardState);
          n.storage->append(rd.entries);
          for (const auto& e : rd.committedEntries) n.applied.push_back(e);
          n.node->advance(rd);
          for (auto& m : rd.messages) {
            any = true;
            if (m.type == MsgType::kAppResp && m.reject) ++rejects;
            (void)net[m.to].step(m);
          }
        }
      }
      if (!any) break;
    }
  }
  EXPECT_LE(rejects, 3);
  auto d1 = appliedData(net.nodes[1]);
  ASSERT_FALSE(d1.empty());
  EXPECT_EQ(d1.back(), "kept");
  for (const auto& e : d1) EXPECT_NE(e, "lost");
  EXPECT_EQ(net.nodes[1].storage->lastIndex(), net.nodes[2].storage->lastIndex());
}

// Section 3.6.1: a candidate with an out-of-date log cannot win.
TEST(Section3_6_Safety, ElectionRestriction) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  net.isolate(3);
  ASSERT_TRUE(net[1].propose("a").ok());
  net.settle();
  net.heal();
  net.isolate(1);
  net.cut.erase({1, 3});  // keep 1-3 cut, restore 2-3
  net.cut.insert({1, 3});
  net[3].campaign();
  net.settle();
  EXPECT_NE(net[3].softState().role, Role::kLeader) << "node 2 must refuse node 3's stale log";
}

// Section 3.6.2 / Figure 8: a leader does not commit an entry from an
// earlier term by counting replicas; it commits it with one of its own.
TEST(Section3_6_Safety, OldTermEntryNotCommittedByCounting) {
  TestNetwork net({1, 2, 3, 4, 5}, [](Config& c) { c.checkQuorum = false; });
  net[1].campaign();
  net.settle();
  uint64_t committedBefore = net[1].raft().log().committed();
  // Leader 1 appends an entry that reaches only node 2.
  for (NodeId n : {3, 4, 5}) net.cut.insert({1, n});
  ASSERT_TRUE(net[1].propose("old").ok());
  net.settle();
  EXPECT_EQ(net[1].raft().log().committed(), committedBefore);
  // Node 1 crashes-ish (isolated); node 2 wins term 3 with 3,4 votes, but the
  // empty entry of its term cannot replicate: drop all appends.
  net.isolate(1);
  net.dropType = MsgType::kApp;
  net[2].campaign();
  net.settle();
  ASSERT_EQ(net[2].softState().role, Role::kLeader);
  uint64_t oldIndex = committedBefore + 1;
  EXPECT_EQ(net[2].raft().log().term(oldIndex), net[1].hardState().term);
  EXPECT_GT(net[2].hardState().term, net[1].hardState().term);
  EXPECT_LT(net[2].raft().log().committed(), oldIndex);
  // Even once a majority holds the old entry, it commits only with the new
  // leader's own entry.
  net.dropType.reset();
  net.tickAll(3);
  EXPECT_GE(net[2].raft().log().committed(), oldIndex + 1);
  EXPECT_EQ(net[2].raft().log().term(net[2].raft().log().committed()), net[2].hardState().term);
}

// Section 3.10: leadership transfer with TimeoutNow.
TEST(Section3_10_LeadershipTransfer, TransfersToUpToDateFollower) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  ASSERT_TRUE(net[1].propose("x").ok());
  net.settle();
  net[1].transferLeadership(3);
  net.settle();
  EXPECT_EQ(net.leader(), 3u);
  EXPECT_EQ(net[1].softState().lead, 3u);
}

// Section 3.10: a follower asked to move leadership to a third server
// forwards the request, which names that server, not the follower.
TEST(Section3_10_LeadershipTransfer, FollowerForwardsTransferToAnotherServer) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  ASSERT_TRUE(net[1].propose("x").ok());
  net.settle();
  net[2].transferLeadership(3);
  net.settle();
  EXPECT_EQ(net.leader(), 3u);
}

// Section 3.10: proposals are refused while a transfer is in progress.
TEST(Section3_10_LeadershipTransfer, ProposalsDroppedDuringTransfer) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  net.isolate(3);
  ASSERT_TRUE(net[1].propose("x").ok());
  net.settle();
  net[1].transferLeadership(3);  // 3 is behind: transfer waits
  net.settle();
  EXPECT_FALSE(net[1].propose("y").ok());
  // The transfer is abandoned after an election timeout.
  net.tickAll(12);
  EXPECT_EQ(net.leader(), 1u);
  EXPECT_TRUE(net[1].propose("z").ok());
}

// Section 4.2.1: a learner catches up without voting, then is promoted.
TEST(Section4_Membership, LearnerCatchesUpThenPromoted) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net[1].propose("v").ok());
  net.settle();
  net.add(4, {});
  ASSERT_TRUE(net[1].proposeConfChange({ConfChangeType::kAddLearner, 4}).ok());
  net.settle();
  EXPECT_TRUE(net[1].raft().tracker().isLearner(4));
  EXPECT_EQ(appliedData(net.nodes[4]).size(), 5u);
  EXPECT_FALSE(net[4].raft().promotable());
  ASSERT_TRUE(net[1].proposeConfChange({ConfChangeType::kAddVoter, 4}).ok());
  net.settle();
  EXPECT_TRUE(net[1].raft().tracker().isVoter(4));
  EXPECT_EQ(net[1].raft().tracker().conf().voters.size(), 4u);
}

// Section 4.1: one change at a time.
TEST(Section4_Membership, SecondChangeRefusedWhilePending) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  net.isolate(2);
  net.isolate(3);  // nothing commits
  ASSERT_TRUE(net[1].proposeConfChange({ConfChangeType::kAddLearner, 4}).ok());
  EXPECT_FALSE(net[1].proposeConfChange({ConfChangeType::kAddLearner, 5}).ok());
}

// Section 4.2.2: removing the leader makes it step down once committed.
TEST(Section4_Membership, RemovedLeaderStepsDown) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  ASSERT_TRUE(net[1].proposeConfChange({ConfChangeType::kRemoveNode, 1}).ok());
  net.settle();
  EXPECT_NE(net[1].softState().role, Role::kLeader);
  net.tickAll(40);
  NodeId l = net.leader();
  EXPECT_TRUE(l == 2 || l == 3);
}

// Section 5.3 setup: node 1 leads and commits ten entries while node 3 is
// cut off, then snapshots them (50 bytes) and compacts its log up to
// `applied`; healed, node 3 can catch up only through the snapshot.
void snapshotPastNode3(TestNetwork& net, uint64_t& applied) {
  net[1].campaign();
  net.settle();
  net.isolate(3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(net[1].propose("e" + std::to_string(i)).ok());
  net.settle();
  auto& s1 = *net.nodes[1].storage;
  applied = net[1].raft().log().applied();
  ASSERT_TRUE(s1.createSnapshot(applied, net[1].raft().conf(),
                                "snapshot-data-of-50-bytes-....................")
                  .ok());
  ASSERT_TRUE(s1.compact(applied).ok());
  net.heal();
}

// Section 5.3: a follower too far behind gets the snapshot, in chunks.
TEST(Section5_Compaction, SnapshotInstalledInChunks) {
  TestNetwork net({1, 2, 3}, [](Config& c) { c.snapshotChunkBytes = 7; });
  uint64_t applied = 0;
  ASSERT_NO_FATAL_FAILURE(snapshotPastNode3(net, applied));
  auto& s1 = *net.nodes[1].storage;
  for (int round = 0; round < 30; ++round) net.tickAll();
  EXPECT_EQ(net.nodes[3].storage->snapshot()->meta.index, applied);
  EXPECT_EQ(net.nodes[3].storage->snapshot()->readAll(), s1.snapshot()->readAll());
  EXPECT_EQ(net[3].raft().log().committed(), net[1].raft().log().committed());
  ASSERT_TRUE(net[1].propose("after").ok());
  net.settle();
  EXPECT_EQ(appliedData(net.nodes[3]).back(), "after");
}

// Section 5.3: a chunk requested twice (the answers to a resent chunk and to
// the original) is sent once, and heartbeats resend only a stalled chunk, so
// a transfer never turns into several parallel streams of chunks.
TEST(Section5_Compaction, SnapshotChunksAreNotDuplicated) {
  TestNetwork net({1, 2, 3}, [](Config& c) { c.snapshotChunkBytes = 7; });
  uint64_t applied = 0;
  ASSERT_NO_FATAL_FAILURE(snapshotPastNode3(net, applied));
  auto& s1 = *net.nodes[1].storage;
  net.dropType = MsgType::kSnapResp;  // node 3 gets chunk 0; its answers are lost
  net.tickAll(3);
  net.dropType.reset();
  ASSERT_EQ(net[1].raft().tracker().get(3)->state, ProgressState::kSnapshot);
  auto chunksSent = [&] {
    int n = 0;
    while (net[1].hasReady()) {
      Ready rd = net[1].ready();
      for (const auto& m : rd.messages) n += m.type == MsgType::kSnap;
      net[1].advance(rd);
    }
    return n;
  };
  auto request = [&](MsgType t, uint64_t offset) {
    Message m;
    m.type = t;
    m.from = 3;
    m.to = 1;
    m.term = net[1].raft().term();
    m.index = applied;
    m.snapOffset = offset;
    return m;
  };
  chunksSent();
  ASSERT_TRUE(net[1].step(request(MsgType::kSnapResp, 7)).ok());
  EXPECT_EQ(chunksSent(), 1);
  ASSERT_TRUE(net[1].step(request(MsgType::kSnapResp, 7)).ok());
  EXPECT_EQ(chunksSent(), 0) << "the same offset asked again";
  // A heartbeat round after progress: no resend, even for a burst of answers
  // (a reconnecting peer answers every beat queued for it).
  net[1].tick();
  chunksSent();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net[1].step(request(MsgType::kHeartbeatResp, 0)).ok());
  EXPECT_EQ(chunksSent(), 0);
  // A round with no progress since the previous one: one resend.
  net[1].tick();
  chunksSent();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(net[1].step(request(MsgType::kHeartbeatResp, 0)).ok());
  EXPECT_EQ(chunksSent(), 1) << "a stalled transfer is resumed, once";
  net.tickAll(30);
  EXPECT_EQ(net.nodes[3].storage->snapshot()->readAll(), s1.snapshot()->readAll());
}

// Section 6.2: a leader cut off from the majority steps down (check-quorum).
TEST(Section6_2_CheckQuorum, IsolatedLeaderStepsDown) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  net.isolate(1);
  for (int i = 0; i < 25; ++i) {
    net[1].tick();
    net.settle();
  }
  EXPECT_NE(net[1].softState().role, Role::kLeader);
}

// Section 6.4: ReadIndex answers only after a heartbeat round confirms
// leadership, with the commit index at the time of the request.
TEST(Section6_4_ReadIndex, ConfirmedByQuorumHeartbeat) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  ASSERT_TRUE(net[1].propose("x").ok());
  net.settle();
  net.isolate(1);
  net[1].readIndex("r1");
  net.settle();
  EXPECT_TRUE(net.nodes[1].reads.empty()) << "no quorum, no read";
  net.heal();
  net[1].readIndex("r2");
  net.settle();
  ASSERT_FALSE(net.nodes[1].reads.empty());
  EXPECT_EQ(net.nodes[1].reads.back().index, net[1].raft().log().committed());
  // A follower's read goes through the leader.
  net[2].readIndex("r3");
  net.settle();
  ASSERT_EQ(net.nodes[2].reads.size(), 1u);
  EXPECT_EQ(net.nodes[2].reads[0].context, "r3");
}

// Section 6.4: a new leader serves no read before an entry of its term commits.
TEST(Section6_4_ReadIndex, NewLeaderWaitsForItsFirstCommit) {
  TestNetwork net({1, 2, 3});
  net.dropType = MsgType::kAppResp;  // the term's empty entry cannot commit
  net[1].campaign();
  net.settle();
  ASSERT_EQ(net.leader(), 1u);
  net[1].readIndex("early");
  net.settle();
  EXPECT_TRUE(net.nodes[1].reads.empty());
  net.dropType.reset();
  net.tickAll(2);
  ASSERT_EQ(net.nodes[1].reads.size(), 1u);
  EXPECT_EQ(net.nodes[1].reads[0].context, "early");
}

// Section 9.6: a partitioned server's pre-votes fail, so its term does not
// climb and it does not disrupt the cluster when it returns.
TEST(Section9_6_PreVote, PartitionedNodeDoesNotBumpTerm) {
  TestNetwork net({1, 2, 3});
  net[1].campaign();
  net.settle();
  uint64_t term = net[1].hardState().term;
  net.isolate(3);
  for (int i = 0; i < 60; ++i) {
    net[3].tick();
    net.settle();
  }
  EXPECT_EQ(net[3].hardState().term, term);
  net.heal();
  net.tickAll(5);
  EXPECT_EQ(net.leader(), 1u);
  EXPECT_EQ(net[1].hardState().term, term);
}

// Section 3.8: the Ready contract: hard state and entries are handed out to
// persist together with (before) the messages that depend on them.
TEST(Section3_8_Persistence, VoteIsInTheSameReadyAsItsReply) {
  TestNetwork net({1, 2});
  net[1].campaign();
  // Deliver node 1's pre-vote and vote requests by hand.
  for (int i = 0; i < 2; ++i) {
    Ready rd1 = net[1].ready();
    net.nodes[1].storage->setHardState(rd1.hardState.value_or(net.nodes[1].storage->hardState()));
    net[1].advance(rd1);
    for (auto& m : rd1.messages) (void)net[2].step(m);
    Ready rd2 = net[2].ready();
    bool hasVoteResp = false;
    for (auto& m : rd2.messages) hasVoteResp |= m.type == MsgType::kVoteResp && !m.reject;
    if (hasVoteResp) {
      ASSERT_TRUE(rd2.hardState.has_value());
      EXPECT_EQ(rd2.hardState->vote, 1u);
      EXPECT_TRUE(rd2.mustSync());
      return;
    }
    net[2].advance(rd2);
    for (auto& m : rd2.messages) (void)net[1].step(m);
  }
  FAIL() << "no granted vote seen";
}

TEST(RawNode, RefusesLocalMessagesFromTheNetwork) {
  MemoryStorage s;
  Config c;
  c.id = 1;
  c.peers = {1};
  auto n = std::move(RawNode::create(c, s).value());
  Message hup = localMessage(MsgType::kHup);
  hup.from = 2;
  EXPECT_FALSE(n->step(hup).ok());
  EXPECT_FALSE(n->step(localMessage(MsgType::kApp)).ok()) << "no sender";
}

}  // namespace
}  // namespace cairn::raft
