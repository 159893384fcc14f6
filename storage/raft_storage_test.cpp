#include "storage/raft_storage.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace cairn::storage {
namespace {

using raft::Entry;
using raft::EntryType;

class RaftStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("cairn_raft_storage_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::vector<Entry> ents(uint64_t from, uint64_t to, uint64_t term) {
    std::vector<Entry> out;
    for (uint64_t i = from; i <= to; ++i)
      out.push_back({term, i, EntryType::kNormal, "d" + std::to_string(i)});
    return out;
  }
  std::filesystem::path dir;
};

TEST_F(RaftStorageTest, SaveReopenAndTruncateConflicts) {
  {
    auto db = std::move(Db::open(dir).value());
    auto s = std::move(RaftStorage::open(*db).value());
    EXPECT_TRUE(s->isEmpty());
    ASSERT_TRUE(s->save(raft::HardState{2, 1, 3}, ents(1, 5, 1), {}).ok());
    ASSERT_TRUE(s->save(std::nullopt, ents(4, 4, 2), {}).ok());  // replaces 4 and 5
    EXPECT_EQ(s->lastIndex(), 4u);
    ASSERT_TRUE(s->setConfState({{1, 2, 3}, {4}}).ok());
  }
  auto db = std::move(Db::open(dir).value());
  auto s = std::move(RaftStorage::open(*db).value());
  EXPECT_EQ(s->initialState().hard, (raft::HardState{2, 1, 3}));
  EXPECT_EQ(s->initialState().conf.voters, (std::vector<raft::NodeId>{1, 2, 3}));
  EXPECT_EQ(s->initialState().conf.learners, (std::vector<raft::NodeId>{4}));
  EXPECT_EQ(s->lastIndex(), 4u);
  EXPECT_EQ(*s->term(4), 2u);
  auto e = s->entries(2, 5, UINT64_MAX);
  ASSERT_TRUE(e.ok()) << e.error().message;
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[2].data, "d4");
  EXPECT_EQ(s->entries(1, 5, 1)->size(), 1u) << "size limit keeps one entry";
  EXPECT_FALSE(s->entries(1, 7, UINT64_MAX).ok());
}

TEST_F(RaftStorageTest, TermsOfWrittenEntriesAcrossTruncationsAndInstalls) {
  auto db = std::move(Db::open(dir).value());
  auto s = std::move(RaftStorage::open(*db).value());
  ASSERT_TRUE(s->save(raft::HardState{1, 0, 0}, ents(1, 5, 1), {}).ok());
  ASSERT_TRUE(s->save(std::nullopt, ents(4, 6, 2), {}).ok());  // replaces 4 and 5
  ASSERT_TRUE(s->save(std::nullopt, ents(7, 8, 3), {}).ok());
  ASSERT_TRUE(s->save(std::nullopt, ents(8, 9, 4), {}).ok());  // replaces 8
  const uint64_t want[] = {0, 1, 1, 1, 2, 2, 2, 3, 4, 4};
  for (uint64_t i = 1; i <= 9; ++i) EXPECT_EQ(*s->term(i), want[i]) << "index " << i;
  EXPECT_FALSE(s->term(10).ok());
  raft::Snapshot snap;
  snap.meta.index = 20;
  snap.meta.term = 5;
  snap.meta.conf.voters = {1};
  snap.data = raft::snapshotFromString("state@20");
  ASSERT_TRUE(s->save(raft::HardState{5, 0, 20}, {}, snap).ok());
  ASSERT_TRUE(s->save(std::nullopt, ents(21, 22, 5), {}).ok());
  EXPECT_EQ(*s->term(20), 5u);
  EXPECT_EQ(*s->term(22), 5u);
  EXPECT_FALSE(s->term(19).ok());
  // The same answers after a reopen, from RocksDB.
  s.reset();
  s = std::move(RaftStorage::open(*db).value());
  EXPECT_EQ(*s->term(21), 5u);
}

TEST_F(RaftStorageTest, SnapshotCompactionAndInstall) {
  auto db = std::move(Db::open(dir).value());
  auto s = std::move(RaftStorage::open(*db).value());
  ASSERT_TRUE(s->save(raft::HardState{1, 0, 10}, ents(1, 10, 1), {}).ok());
  s->setSnapshot(8, 1, {{1}, {}}, []() -> Result<std::shared_ptr<const raft::SnapshotData>> {
    return raft::snapshotFromString("state@8");
  });
  ASSERT_TRUE(s->compact(6).ok());
  EXPECT_EQ(s->firstIndex(), 7u);
  EXPECT_FALSE(s->entries(5, 8, UINT64_MAX).ok());
  EXPECT_EQ(*s->term(6), 1u);
  EXPECT_EQ(s->snapshot()->readAll(), "state@8");
  raft::Snapshot snap;
  snap.meta.index = 20;
  snap.meta.term = 3;
  snap.meta.conf.voters = {1, 2};
  snap.data = raft::snapshotFromString("state@20");
  ASSERT_TRUE(s->save(raft::HardState{3, 0, 20}, {}, snap).ok());
  EXPECT_EQ(s->firstIndex(), 21u);
  EXPECT_EQ(s->lastIndex(), 20u);
  EXPECT_EQ(*s->term(20), 3u);
  EXPECT_EQ(s->initialState().conf.voters.size(), 2u);
  ASSERT_TRUE(s->save(std::nullopt, ents(21, 22, 3), {}).ok());
  EXPECT_EQ(s->entries(21, 23, UINT64_MAX)->size(), 2u);
}

}  // namespace
}  // namespace cairn::storage
