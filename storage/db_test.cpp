#include "storage/db.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "registry/catalog.hpp"

namespace cairn::storage {
namespace {

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("cairn_db_test_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(DbTest, LogAppendReadTruncate) {
  auto db = std::move(Db::open(dir).value());
  ASSERT_TRUE(db->appendLog({{1, 1, "a"}, {2, 1, "b"}, {3, 2, "c"}}).ok());
  EXPECT_EQ(*db->lastLogIndex(), 3u);
  auto e = db->readLog(2, 3);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].data, "b");
  EXPECT_EQ((*e)[1].term, 2u);
  ASSERT_TRUE(db->truncateLogPrefix(2).ok());
  EXPECT_EQ(db->readLog(0, 10)->size(), 1u);
}

TEST_F(DbTest, MetaPrefixScanAndBatchWriteSurviveReopen) {
  {
    auto db = std::move(Db::open(dir).value());
    ASSERT_TRUE(db->writeMeta({{"p/b", "2"}, {"p/a", "1"}, {"q", "x"}, {"p/c", "3"}}, false).ok());
    ASSERT_TRUE(db->writeMeta({{"p/c", std::nullopt}}, true).ok());
  }
  auto db = std::move(Db::open(dir).value());
  auto rows = db->scanMeta("p/");
  ASSERT_TRUE(rows.ok());
  using Rows = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*rows, (Rows{{"p/a", "1"}, {"p/b", "2"}}));
  EXPECT_EQ(*db->getMeta("q"), "x");
  EXPECT_TRUE(db->scanMeta("z/")->empty());
}

TEST_F(DbTest, CatalogSurvivesReopen) {
  {
    auto db = std::move(Db::open(dir).value());
    auto cat = std::move(registry::Catalog::open(db->catalogStore()).value());
    registry::RegisterCommand r;
    r.node.name = "n1";
    r.node.address = "10.1.1.1";
    registry::Service s;
    s.name = "web";
    s.id = "w1";
    s.port = 8080;
    r.service = s;
    ASSERT_TRUE(cat->apply(1, r).ok());
    ASSERT_TRUE(cat->flush().ok());
  }
  auto db = std::move(Db::open(dir).value());
  auto cat = std::move(registry::Catalog::open(db->catalogStore()).value());
  auto v = cat->view();
  EXPECT_EQ(v->index, 1u);
  auto* inst = v->nodeServices.find(registry::instanceKey("n1", "w1"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ((*inst)->service->port, 8080);
}

TEST_F(DbTest, SecondOpenOfSameDirFailsClearly) {
  auto db = std::move(Db::open(dir).value());
  auto again = Db::open(dir);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("lock"), std::string::npos) << again.error().message;
}

TEST_F(DbTest, RefusesNewerFormat) {
  {
    auto db = std::move(Db::open(dir).value());
    ASSERT_TRUE(db->putMeta("format_version", "99").ok());
  }
  auto db = Db::open(dir);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message.find("newer"), std::string::npos);
}

}  // namespace
}  // namespace cairn::storage
