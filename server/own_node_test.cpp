#include "server/own_node.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "registry/command.hpp"
#include "registry/snapshot_file.hpp"
#include "server/agent_local_store.hpp"
#include "server/local_replicator.hpp"
#include "storage/db.hpp"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

const OwnNode kSelf{"s1", "11111111-2222-3333-4444-555555555555", "10.0.0.1"};

registry::RegisterCommand nodeCommand(const OwnNode& n, bool withCheck) {
  registry::RegisterCommand r;
  r.node.name = n.name;
  r.node.id = n.id;
  r.node.address = n.address;
  if (withCheck) {
    registry::Check c;
    c.checkId = std::string(kOwnNodeCheckId);
    c.name = "Serf Health Status";
    c.status = registry::HealthStatus::kPassing;
    r.checks.push_back(c);
  }
  return r;
}

OwnNodeKeeper::Options fastPoll() {
  OwnNodeKeeper::Options o;
  o.pollInterval = std::chrono::milliseconds(10);
  return o;
}

// Polls `pred` until it holds or 10 s pass.
template <typename P>
bool eventually(P pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

class OwnNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cairn_own_node_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    db_ = std::move(storage::Db::open(dir_.string()).value());
    cat_ = std::move(registry::Catalog::open(db_->catalogStore()).value());
    rep_ = std::move(LocalReplicator::create(*db_, *cat_, "127.0.0.1:8300").value());
  }
  void TearDown() override {
    keeper_.reset();
    local_.reset();
    rep_.reset();
    cat_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  Result<uint64_t> write(const registry::Command& cmd) {
    std::promise<Result<uint64_t>> p;
    rep_->propose(registry::encodeCommand(cmd), [&p](Result<uint64_t> r) { p.set_value(r); });
    return p.get_future().get();
  }

  // Starts the keeper; its registrations are counted in registrations_.
  void startKeeper(OwnNodeKeeper::Options opts = fastPoll()) {
    keeper_ = std::make_unique<OwnNodeKeeper>(
        cat_->watches(), kSelf,
        [this]() -> Status {
          ++registrations_;
          auto r = write(nodeCommand(kSelf, true));
          return r.ok() ? Status() : Status(r.error());
        },
        std::move(opts));
  }
  bool intact() { return ownNodeIntact(*cat_->view(), kSelf); }

  fs::path dir_;
  std::unique_ptr<storage::Db> db_;
  std::unique_ptr<registry::Catalog> cat_;
  std::unique_ptr<LocalReplicator> rep_;
  std::unique_ptr<AgentLocalStore> local_;  // used by keeper_
  std::unique_ptr<OwnNodeKeeper> keeper_;
  std::atomic<int> registrations_{0};
};

TEST_F(OwnNodeTest, IntactNeedsTheNodeWithItsIdAddressAndCheck) {
  EXPECT_FALSE(intact());
  ASSERT_TRUE(write(nodeCommand(kSelf, false)).ok());
  EXPECT_FALSE(intact()) << "no serfHealth check";
  ASSERT_TRUE(write(nodeCommand(kSelf, true)).ok());
  EXPECT_TRUE(intact());
  OwnNode other = kSelf;
  other.id = "another-server";
  ASSERT_TRUE(write(nodeCommand(other, true)).ok());
  EXPECT_FALSE(intact()) << "another server's node under our name";
  other = kSelf;
  other.address = "10.0.0.2";
  ASSERT_TRUE(write(nodeCommand(other, true)).ok());
  EXPECT_FALSE(intact()) << "another address";
}

// A snapshot restore replaces the catalog, our node with it: the keeper
// registers it again without a restart; when nothing is missing it writes
// nothing.
TEST_F(OwnNodeTest, RegistersOnceThenAgainAfterARestoreWithoutIt) {
  ASSERT_TRUE(write(nodeCommand({"elsewhere", "", "10.9.9.9"}, false)).ok());
  const std::string file = registry::writeSnapshotFile(*cat_->view());  // without s1
  startKeeper();
  ASSERT_TRUE(eventually([&] { return intact(); }));
  EXPECT_EQ(registrations_.load(), 1);
  uint64_t index = cat_->appliedIndex();
  // Many polls later: no write.
  ASSERT_TRUE(eventually([&] { return cat_->watches().view()->index == index; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(registrations_.load(), 1);
  EXPECT_EQ(cat_->appliedIndex(), index) << "a steady state must not write";

  auto snap = registry::openSnapshotFile(file);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  ASSERT_TRUE(write(registry::RestoreCommand{std::string(snap->payload)}).ok());
  // The keeper counts the repair once its write has returned, which may be
  // after the node is back in the view.
  ASSERT_TRUE(eventually([&] { return intact() && keeper_->repairs() == 1u; }));
  EXPECT_TRUE(cat_->view()->nodes.find("elsewhere")) << "the restored catalog stays";
  EXPECT_EQ(registrations_.load(), 2);
}

TEST_F(OwnNodeTest, RegistersAgainAfterADeregistration) {
  startKeeper();
  ASSERT_TRUE(eventually([&] { return intact(); }));
  ASSERT_TRUE(write(registry::DeregisterCommand{kSelf.name, "", ""}).ok());
  ASSERT_TRUE(eventually([&] { return keeper_->repairs() == 1 && intact(); }));
  // The next one too (two restores in a row), but a third within a minute
  // of the last waits (1 s, doubling): a name shared by two servers cannot
  // make them overwrite each other at full speed.
  ASSERT_TRUE(write(registry::DeregisterCommand{kSelf.name, "", ""}).ok());
  ASSERT_TRUE(eventually([&] { return keeper_->repairs() == 2 && intact(); }));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(write(registry::DeregisterCommand{kSelf.name, "", ""}).ok());
  ASSERT_TRUE(eventually([&] { return keeper_->repairs() == 3 && intact(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
}

// The agent's local state rides on the same keeper: a service registered
// through the agent API and then lost comes back in one repair, without
// registering the node again; nothing is written while it is there.
TEST_F(OwnNodeTest, KeepsTheAgentLocalStateToo) {
  local_ = std::move(AgentLocalStore::open(*db_, kSelf.name).value());
  OwnNodeKeeper::Options opts = fastPoll();
  opts.intact = [this](const registry::View& v) { return local_->intact(v); };
  opts.repair = [this]() -> Status {
    for (const auto& w : local_->plan(*cat_->view()).writes)
      if (auto r = write(w); !r.ok()) return r.error();
    return {};
  };
  startKeeper(std::move(opts));
  ASSERT_TRUE(eventually([&] { return intact(); }));
  registry::RegisterCommand svc;
  svc.node.name = kSelf.name;
  svc.skipNodeUpdate = true;
  svc.service = registry::Service{};
  svc.service->name = "web";
  registry::Check c;
  c.checkId = "web-ttl";
  c.name = "web-ttl";
  c.serviceId = "web";
  c.type = "ttl";
  c.definition.ttl = "10s";
  svc.checks.push_back(c);
  ASSERT_TRUE(write(svc).ok());
  local_->registered(svc);
  ASSERT_TRUE(write(registry::CheckStatusCommand{kSelf.name, "web-ttl",
                                                 registry::HealthStatus::kPassing, "fine"})
                  .ok());
  ASSERT_TRUE(write(registry::DeregisterCommand{kSelf.name, "", "web-ttl"}).ok());
  auto back = [&] {
    return cat_->view()->checks.find(registry::instanceKey(kSelf.name, "web-ttl"));
  };
  // Counted once the repair's writes are applied.
  ASSERT_TRUE(eventually([&] { return back() != nullptr && keeper_->repairs() == 1; }));
  EXPECT_EQ(registrations_.load(), 1) << "the node was there";
  uint64_t index = cat_->appliedIndex();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(cat_->appliedIndex(), index) << "a steady state must not write";
  keeper_.reset();
  local_->flush();
  local_.reset();
  auto reopened = std::move(AgentLocalStore::open(*db_, kSelf.name).value());
  EXPECT_EQ(reopened->services(), 1u);
  EXPECT_EQ(reopened->checks(), 1u);
}

TEST_F(OwnNodeTest, StopEndsAKeeperThatCannotRegister) {
  keeper_ = std::make_unique<OwnNodeKeeper>(
      cat_->watches(), kSelf,
      [this] {
        ++registrations_;
        return Status(unavailable("No cluster leader"));
      },
      fastPoll());
  ASSERT_TRUE(eventually([&] { return registrations_.load() >= 1; }));
  auto start = std::chrono::steady_clock::now();
  keeper_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_FALSE(intact());
}

}  // namespace
}  // namespace cairn::server
