#include "server/local_replicator.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

std::string regCmd(const std::string& id) {
  registry::RegisterCommand r;
  r.node.name = "n1";
  r.node.address = "10.0.0.1";
  registry::Service s;
  s.name = "web";
  s.id = id;
  r.service = s;
  return registry::encodeCommand(r);
}

TEST(LocalReplicator, GroupCommitAndReplayAfterRestart) {
  auto dir = fs::temp_directory_path() / ("cairn_rep_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    auto db = std::move(storage::Db::open(dir).value());
    auto cat = std::move(registry::Catalog::open(db->catalogStore()).value());
    auto rep = std::move(LocalReplicator::create(*db, *cat, "127.0.0.1:8300").value());
    std::vector<std::promise<Result<uint64_t>>> ps(200);
    for (int i = 0; i < 200; ++i)
      rep->propose(regCmd("w" + std::to_string(i)),
                   [&ps, i](Result<uint64_t> r) { ps[i].set_value(std::move(r)); });
    std::set<uint64_t> indexes;
    for (auto& p : ps) {
      auto r = p.get_future().get();
      ASSERT_TRUE(r.ok());
      indexes.insert(*r);
    }
    EXPECT_EQ(indexes.size(), 200u);
    EXPECT_EQ((*cat->view()->services.find("web"))->instances.size(), 200u);
    rep->shutdown();
    std::promise<Result<uint64_t>> late;
    rep->propose(regCmd("late"), [&](Result<uint64_t> r) { late.set_value(std::move(r)); });
    EXPECT_FALSE(late.get_future().get().ok()) << "proposals after shutdown fail";
  }
  {
    // Simulate a crash between log append and catalog commit: append an
    // entry the catalog has not applied; reopening must replay it.
    auto db = std::move(storage::Db::open(dir).value());
    uint64_t last = *db->lastLogIndex();
    ASSERT_TRUE(db->appendLog({{last + 1, 1, regCmd("replayed")}}).ok());
  }
  auto db = std::move(storage::Db::open(dir).value());
  auto cat = std::move(registry::Catalog::open(db->catalogStore()).value());
  auto rep = std::move(LocalReplicator::create(*db, *cat, "127.0.0.1:8300").value());
  EXPECT_EQ((*cat->view()->services.find("web"))->instances.size(), 201u);
  rep.reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cairn::server
