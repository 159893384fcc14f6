#include "raft/log.hpp"

#include <gtest/gtest.h>

namespace cairn::raft {
namespace {

std::vector<Entry> ents(std::initializer_list<std::pair<uint64_t, uint64_t>> it) {
  std::vector<Entry> out;
  for (auto [i, t] : it) out.push_back(Entry{t, i, EntryType::kNormal, "x"});
  return out;
}

TEST(RaftLog, FindConflict) {
  MemoryStorage s;
  RaftLog log(s, UINT64_MAX);
  log.append(ents({{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_EQ(log.findConflict(ents({{1, 1}, {2, 2}})), 0u);
  EXPECT_EQ(log.findConflict(ents({{2, 2}, {3, 3}, {4, 4}})), 4u);
  EXPECT_EQ(log.findConflict(ents({{2, 1}, {3, 4}})), 2u);
}

// Section 3.5: a follower deletes a conflicting suffix and appends.
TEST(RaftLog, MaybeAppendTruncatesConflictingSuffix) {
  MemoryStorage s;
  RaftLog log(s, UINT64_MAX);
  log.append(ents({{1, 1}, {2, 2}, {3, 2}}));
  auto last = log.maybeAppend(1, 1, 3, ents({{2, 3}}));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last, 2u);
  EXPECT_EQ(log.lastIndex(), 2u);
  EXPECT_EQ(log.term(2), 3u);
  EXPECT_EQ(log.committed(), 2u) << "commit is capped by the last new index";
  EXPECT_FALSE(log.maybeAppend(2, 2, 3, {}).has_value()) << "log matching check fails";
}

// Section 3.6.2 (Figure 8): an earlier-term entry is not committed by count.
TEST(RaftLog, CommitRequiresCurrentTerm) {
  MemoryStorage s;
  RaftLog log(s, UINT64_MAX);
  log.append(ents({{1, 1}, {2, 2}}));
  EXPECT_FALSE(log.maybeCommit(2, 3));
  EXPECT_EQ(log.committed(), 0u);
  EXPECT_TRUE(log.maybeCommit(2, 2));
  EXPECT_EQ(log.committed(), 2u);
}

// Section 3.6.1: the election restriction's up-to-date rule.
TEST(RaftLog, IsUpToDate) {
  MemoryStorage s;
  RaftLog log(s, UINT64_MAX);
  log.append(ents({{1, 1}, {2, 2}, {3, 3}}));
  EXPECT_TRUE(log.isUpToDate(3, 3));
  EXPECT_TRUE(log.isUpToDate(1, 4));
  EXPECT_FALSE(log.isUpToDate(5, 2));
  EXPECT_FALSE(log.isUpToDate(2, 3));
}

TEST(RaftLog, StableAndCompactedReads) {
  MemoryStorage s;
  s.append(ents({{1, 1}, {2, 1}, {3, 2}, {4, 2}}));
  ASSERT_TRUE(s.createSnapshot(2, {{1}, {}}, "snap").ok());
  ASSERT_TRUE(s.compact(2).ok());
  RaftLog log(s, UINT64_MAX);
  EXPECT_EQ(log.firstIndex(), 3u);
  EXPECT_EQ(log.term(2), 1u);
  EXPECT_EQ(log.term(1), 0u) << "compacted";
  EXPECT_FALSE(log.slice(1, 3, UINT64_MAX).ok());
  log.append(ents({{5, 3}}));
  auto all = log.entriesFrom(3, UINT64_MAX);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_EQ(log.findConflictByTerm(5, 2), 4u);
  EXPECT_EQ(log.findConflictByTerm(5, 1), 2u);
}

TEST(RaftLog, SizeLimitKeepsAtLeastOneEntry) {
  MemoryStorage s;
  RaftLog log(s, UINT64_MAX);
  std::vector<Entry> big;
  for (uint64_t i = 1; i <= 10; ++i)
    big.push_back(Entry{1, i, EntryType::kNormal, std::string(100, 'a')});
  log.append(big);
  EXPECT_EQ(log.slice(1, 11, 1)->size(), 1u);
  EXPECT_EQ(log.slice(1, 11, 350)->size(), 3u);
}

}  // namespace
}  // namespace cairn::raft
