#include "server/snapshot_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "registry/catalog.hpp"
#include "registry/snapshot.hpp"
#include "server/raft_replicator.hpp"
#include "storage/db.hpp"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

class SnapshotFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() /
           ("cairn_snapfiles_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    fs::create_directories(root);
  }
  void TearDown() override { fs::remove_all(root); }

  // A catalog of n services at index n, in its own data dir.
  std::unique_ptr<registry::Catalog> filled(storage::Db& db, int n,
                                            const std::string& prefix = "web-") {
    auto cat = std::move(registry::Catalog::open(db.catalogStore()).value());
    for (int i = 0; i < n; ++i) {
      registry::RegisterCommand r;
      r.node.name = "node" + std::to_string(i % 4);
      r.node.address = "10.0.0.1";
      registry::Service s;
      s.name = "web";
      s.id = prefix + std::to_string(i);
      r.service = s;
      EXPECT_TRUE(cat->apply(static_cast<uint64_t>(i + 1), r).ok());
    }
    EXPECT_TRUE(cat->flush().ok());
    return cat;
  }

  size_t filesIn(const fs::path& dir) {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind("raft-snapshot-", 0) == 0) ++n;
    return n;
  }

  fs::path root;
};

TEST_F(SnapshotFilesTest, SenderFileIsUnlinkedButReadable) {
  auto db = std::move(storage::Db::open(root / "a").value());
  auto cat = filled(*db, 100);
  auto data = writeViewSnapshot(*cat->view(), root.string());
  ASSERT_TRUE(data.ok()) << data.error().message;
  EXPECT_EQ(filesIn(root), 0u) << "the temporary file is unlinked at once";
  std::string whole = registry::serializeView(*cat->view());
  ASSERT_EQ((*data)->size(), whole.size());
  EXPECT_EQ(*(*data)->read(0, whole.size()), whole);
  EXPECT_EQ(*(*data)->read(10, 5), whole.substr(10, 5));
  EXPECT_FALSE((*data)->read(whole.size() + 1, 1).ok());
}

TEST_F(SnapshotFilesTest, SinkKeepsChunksOnDiskUntilInstalled) {
  auto sink = fileSnapshotSink(root.string());
  ASSERT_TRUE(sink->append("hello ").ok());
  ASSERT_TRUE(sink->append("world").ok());
  EXPECT_EQ(sink->size(), 11u);
  auto data = sink->finish();
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(filesIn(root), 1u);
  EXPECT_EQ(*(*data)->read(0, 100), "hello world");
  // An abandoned transfer leaves nothing behind.
  {
    auto dropped = fileSnapshotSink(root.string());
    ASSERT_TRUE(dropped->append("partial").ok());
  }
  EXPECT_EQ(filesIn(root), 1u);
}

// A crash in the middle of installing a snapshot (catalog cleared, rows
// partly written) is repaired at the next start from the kept file.
TEST_F(SnapshotFilesTest, InterruptedInstallResumesAtStart) {
  std::string path;
  uint64_t index = 0;
  {
    auto leaderDb = std::move(storage::Db::open(root / "leader").value());
    auto cat = filled(*leaderDb, 300);
    index = cat->appliedIndex();
    fs::create_directories(root / "follower");
    auto sink = fileSnapshotSink((root / "follower").string());
    ASSERT_TRUE(sink->append(registry::serializeView(*cat->view())).ok());
    auto data = sink->finish();
    ASSERT_TRUE(data.ok());
    path = dynamic_cast<const FileSnapshotData&>(**data).path();
  }
  raft::NodeId self = raftIdFor("follower-node");
  {
    auto db = std::move(storage::Db::open(root / "follower").value());
    auto cat = filled(*db, 5);  // what it had before
    ASSERT_TRUE(db->beginCatalogInstall("v1 " + std::to_string(index) + " 1 -," +
                                        formatServerId(self) + " - " + path)
                    .ok());
    // Rows of some other state half written (valid rows, as a real install
    // writes): they must not survive.
    auto otherDb = std::move(storage::Db::open(root / "other").value());
    auto other = filled(*otherDb, 7, "stale-");
    auto rows = registry::parseSnapshot(registry::serializeView(*other->view()));
    ASSERT_TRUE(rows.ok());
    rows->resize(rows->size() / 2);
    ASSERT_TRUE(db->putCatalogRows(*rows).ok());
    // ...and the process dies here.
  }
  auto db = std::move(storage::Db::open(root / "follower").value());
  auto cat = std::move(registry::Catalog::open(db->catalogStore()).value());
  RaftReplicatorConfig cfg;
  cfg.raftId = self;
  cfg.nodeName = "follower";
  cfg.advertise = "127.0.0.1";
  cfg.port = 0;
  cfg.bootstrapExpect = 0;
  cfg.snapshotDir = (root / "follower").string();
  auto rep = RaftReplicator::create(cfg, *db, *cat);
  ASSERT_TRUE(rep.ok()) << rep.error().message;
  EXPECT_EQ(cat->appliedIndex(), index);
  EXPECT_EQ(cat->view()->nodeServices.size(), 300u);
  EXPECT_NE(cat->view()->nodeServices.find(registry::instanceKey("node3", "web-299")), nullptr);
  EXPECT_EQ(cat->view()->nodeServices.find(registry::instanceKey("node0", "stale-0")), nullptr);
  EXPECT_TRUE(db->installMarker()->empty());
  EXPECT_EQ(filesIn(root / "follower"), 0u) << "the installed file is removed";
  (*rep)->shutdown();
}

// Without its file, an interrupted install cannot be repaired: the server
// refuses to start and says what to do.
TEST_F(SnapshotFilesTest, InterruptedInstallWithoutFileIsAClearError) {
  {
    auto db = std::move(storage::Db::open(root / "f").value());
    ASSERT_TRUE(db->beginCatalogInstall("v1 10 1 -,0000000000000001 - /nonexistent/file").ok());
  }
  auto db = std::move(storage::Db::open(root / "f").value());
  auto cat = std::move(registry::Catalog::open(db->catalogStore()).value());
  RaftReplicatorConfig cfg;
  cfg.raftId = 1;
  cfg.advertise = "127.0.0.1";
  cfg.port = 0;
  cfg.snapshotDir = (root / "f").string();
  auto rep = RaftReplicator::create(cfg, *db, *cat);
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.error().message.find("remove the data dir"), std::string::npos)
      << rep.error().message;
}

}  // namespace
}  // namespace cairn::server
