#include "server/agent_local.hpp"

#include <gtest/gtest.h>

#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::server {
namespace {

using registry::Command;
using registry::DeregisterCommand;
using registry::HealthStatus;
using registry::instanceKey;
using registry::RegisterCommand;

const std::string kNode = "s1";

registry::Check ttlCheck(std::string id, std::string serviceId) {
  registry::Check c;
  c.checkId = std::move(id);
  c.name = c.checkId;
  c.serviceId = std::move(serviceId);
  c.type = "ttl";
  c.definition.ttl = "30s";
  return c;
}

// What /v1/agent/service/register proposes for a service with two checks.
RegisterCommand serviceReg(const std::string& id, int port) {
  RegisterCommand r;
  r.node.name = kNode;
  r.skipNodeUpdate = true;
  registry::Service s;
  s.name = "web";
  s.id = id;
  s.port = port;
  s.tags = {"v1"};
  r.service = s;
  r.checks = {ttlCheck(id + ":a", id), ttlCheck(id + ":b", id)};
  return r;
}

RegisterCommand checkReg(registry::Check c) {
  RegisterCommand r;
  r.node.name = kNode;
  r.skipNodeUpdate = true;
  r.checks.push_back(std::move(c));
  return r;
}

class AgentLocalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cat_ = std::move(registry::Catalog::open(store_).value());
    RegisterCommand node;
    node.node.name = kNode;
    node.node.address = "10.0.0.1";
    apply(node);
  }

  uint64_t apply(const Command& cmd) {
    EXPECT_TRUE(cat_->apply(++index_, cmd).ok());
    EXPECT_TRUE(cat_->flush().ok());
    return index_;
  }
  // Through the agent API: applied, then recorded.
  void agentRegister(const RegisterCommand& cmd) {
    apply(cmd);
    noteRegistered(state_, cmd);
  }
  // Through the agent API: recorded, then applied.
  void agentDeregister(const std::string& serviceId, const std::string& checkId) {
    noteDeregistered(state_, serviceId, checkId, cat_->view()->index);
    apply(DeregisterCommand{kNode, serviceId, checkId});
  }
  void setStatus(const std::string& checkId, HealthStatus s) {
    apply(registry::CheckStatusCommand{kNode, checkId, s, "out " + checkId});
  }
  LocalRepair plan() { return planLocalRepair(*cat_->view(), kNode, state_); }
  // Applies the plan's writes; the plan.
  LocalRepair repair() {
    LocalRepair p = plan();
    for (const auto& w : p.writes) apply(w);
    forgetGone(state_, p);
    return p;
  }
  std::string snapshot() {
    file_ = registry::writeSnapshotFile(*cat_->view());
    return std::string(registry::openSnapshotFile(file_).value().payload);
  }
  const registry::Check* check(const std::string& id) {
    const auto* c = cat_->view()->checks.find(instanceKey(kNode, id));
    return c ? c->get() : nullptr;
  }
  const registry::Service* service(const std::string& id) {
    const auto* i = cat_->view()->nodeServices.find(instanceKey(kNode, id));
    return i ? (*i)->service.get() : nullptr;
  }

  registry::testing::MemoryStore store_;
  std::unique_ptr<registry::Catalog> cat_;
  uint64_t index_ = 0;
  AgentLocalState state_;
  std::string file_;
};

TEST_F(AgentLocalTest, SteadyStatePlansNothingWhateverTheChecksSay) {
  agentRegister(serviceReg("web-1", 80));
  agentRegister(checkReg(ttlCheck("disk", "")));
  agentRegister(checkReg(ttlCheck("web-1:extra", "web-1")));
  setStatus("web-1:a", HealthStatus::kPassing);
  setStatus("disk", HealthStatus::kWarning);
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, MissingServiceComesBackWithItsChecksInOneWrite) {
  agentRegister(serviceReg("web-1", 80));
  agentRegister(checkReg(ttlCheck("web-1:extra", "web-1")));
  agentRegister(serviceReg("web-2", 81));
  apply(DeregisterCommand{kNode, "web-1", ""});  // e.g. through /v1/catalog/deregister
  LocalRepair p = repair();
  ASSERT_EQ(p.writes.size(), 1u);
  const auto& r = std::get<RegisterCommand>(p.writes[0]);
  EXPECT_TRUE(r.skipNodeUpdate);
  ASSERT_TRUE(r.service.has_value());
  EXPECT_EQ(r.service->id, "web-1");
  EXPECT_EQ(r.checks.size(), 3u);
  ASSERT_NE(service("web-1"), nullptr);
  EXPECT_EQ(service("web-1")->port, 80);
  ASSERT_NE(check("web-1:extra"), nullptr);
  EXPECT_EQ(check("web-1:extra")->serviceName, "web");
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, MissingCheckAloneComesBackAndTheOthersKeepTheirStatus) {
  agentRegister(serviceReg("web-1", 80));
  setStatus("web-1:a", HealthStatus::kPassing);
  uint64_t aModified = check("web-1:a")->modifyIndex;
  apply(DeregisterCommand{kNode, "", "web-1:b"});
  LocalRepair p = repair();
  ASSERT_EQ(p.writes.size(), 1u);
  const auto& r = std::get<RegisterCommand>(p.writes[0]);
  EXPECT_FALSE(r.service.has_value());
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].checkId, "web-1:b");
  EXPECT_EQ(check("web-1:b")->status, HealthStatus::kCritical);  // as registered
  EXPECT_EQ(check("web-1:a")->status, HealthStatus::kPassing);
  EXPECT_EQ(check("web-1:a")->modifyIndex, aModified);
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, OlderSnapshotRestoredGetsTheNewerDefinitionsBackWithStatusKept) {
  agentRegister(serviceReg("web-1", 80));
  agentRegister(serviceReg("web-2", 81));
  setStatus("web-1:a", HealthStatus::kPassing);
  std::string old = snapshot();
  agentRegister(serviceReg("web-1", 8080));  // changed after the snapshot
  agentRegister(serviceReg("web-3", 82));    // new after the snapshot
  registry::Check changed = ttlCheck("web-2:a", "web-2");
  changed.definition.ttl = "60s";
  agentRegister(checkReg(changed));
  apply(registry::RestoreCommand{old});
  setStatus("web-2:a", HealthStatus::kWarning);
  ASSERT_EQ(service("web-1")->port, 80);
  ASSERT_EQ(service("web-3"), nullptr);

  LocalRepair p = repair();
  EXPECT_EQ(p.writes.size(), 3u);  // web-1, web-3, the loose web-2:a
  EXPECT_EQ(service("web-1")->port, 8080);
  ASSERT_NE(service("web-3"), nullptr);
  ASSERT_NE(check("web-3:b"), nullptr);
  // Restored with the service and not changed since: the status stays.
  EXPECT_EQ(check("web-1:a")->status, HealthStatus::kPassing);
  // Redefined: the new definition, the current status and output.
  EXPECT_EQ(check("web-2:a")->definition.ttl, "60s");
  EXPECT_EQ(check("web-2:a")->status, HealthStatus::kWarning);
  EXPECT_EQ(check("web-2:a")->output, "out web-2:a");
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, TagsChangedInTheCatalogStayOnlyWithEnableTagOverride) {
  RegisterCommand over = serviceReg("web-1", 80);
  over.service->enableTagOverride = true;
  agentRegister(over);
  agentRegister(serviceReg("web-2", 81));
  for (const char* id : {"web-1", "web-2"}) {
    RegisterCommand r;
    r.node.name = kNode;
    r.skipNodeUpdate = true;
    r.service = *service(id);
    r.service->tags = {"retagged"};
    apply(r);
  }
  LocalRepair p = repair();
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_EQ(std::get<RegisterCommand>(p.writes[0]).service->id, "web-2");
  EXPECT_EQ(service("web-1")->tags, std::vector<std::string>{"retagged"});
  EXPECT_EQ(service("web-2")->tags, std::vector<std::string>{"v1"});
}

TEST_F(AgentLocalTest, DeregisteredThroughTheAgentStaysGoneWhenARestoreBringsItBack) {
  agentRegister(serviceReg("web-1", 80));
  agentRegister(serviceReg("gone", 81));
  agentRegister(checkReg(ttlCheck("disk", "")));
  agentRegister(checkReg(ttlCheck("web-1:extra", "web-1")));
  std::string old = snapshot();
  agentDeregister("gone", "");
  agentDeregister("", "disk");
  agentDeregister("", "web-1:extra");
  EXPECT_TRUE(plan().empty());
  apply(registry::RestoreCommand{old});
  ASSERT_NE(service("gone"), nullptr);
  ASSERT_NE(check("disk"), nullptr);

  LocalRepair p = repair();
  EXPECT_EQ(p.writes.size(), 3u);
  EXPECT_EQ(service("gone"), nullptr);
  EXPECT_EQ(check("gone:a"), nullptr);
  EXPECT_EQ(check("disk"), nullptr);
  EXPECT_EQ(check("web-1:extra"), nullptr);
  ASSERT_NE(service("web-1"), nullptr);
  EXPECT_TRUE(plan().empty());
  EXPECT_EQ(state_.goneServices.count("gone"), 1u);  // a later restore is handled too
}

TEST_F(AgentLocalTest, NeverBringsBackWhatWasDeregisteredThroughTheAgent) {
  agentRegister(serviceReg("web-1", 80));
  agentDeregister("web-1", "");
  EXPECT_TRUE(state_.services.empty());
  EXPECT_TRUE(state_.checks.empty());  // the service's checks went with it
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, AFailedDeregistrationIsFinished) {
  agentRegister(serviceReg("web-1", 80));
  noteDeregistered(state_, "web-1", "", cat_->view()->index);  // the write then failed
  LocalRepair p = repair();
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_EQ(service("web-1"), nullptr);
}

TEST_F(AgentLocalTest, RegisteredAgainThroughTheCatalogIsLeftAloneAndTheTombstoneDropped) {
  agentRegister(serviceReg("web-1", 80));
  agentRegister(checkReg(ttlCheck("disk", "")));
  agentDeregister("web-1", "");
  agentDeregister("", "disk");
  apply(serviceReg("web-1", 90));  // /v1/catalog/register, not the agent
  apply(checkReg(ttlCheck("disk", "")));
  LocalRepair p = repair();
  EXPECT_TRUE(p.writes.empty());
  EXPECT_EQ(p.forgetServices, std::vector<std::string>{"web-1"});
  EXPECT_EQ(p.forgetChecks, std::vector<std::string>{"disk"});
  EXPECT_TRUE(state_.goneServices.empty());
  EXPECT_TRUE(state_.goneChecks.empty());
  EXPECT_EQ(service("web-1")->port, 90);
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, RegisteringAgainThroughTheAgentClearsTheTombstone) {
  agentRegister(serviceReg("web-1", 80));
  agentDeregister("web-1", "");
  agentRegister(serviceReg("web-1", 81));
  EXPECT_TRUE(state_.goneServices.empty());
  apply(DeregisterCommand{kNode, "web-1", ""});
  repair();
  EXPECT_EQ(service("web-1")->port, 81);
}

TEST_F(AgentLocalTest, NothingWhileTheNodeIsMissingAndNoCheckWithoutItsService) {
  agentRegister(serviceReg("web-1", 80));
  RegisterCommand foreign;  // a service on this node from the catalog API
  foreign.node.name = kNode;
  foreign.skipNodeUpdate = true;
  foreign.service = registry::Service{};
  foreign.service->name = "foreign";
  apply(foreign);
  agentRegister(checkReg(ttlCheck("foreign:ok", "foreign")));
  apply(DeregisterCommand{kNode, "foreign", ""});
  EXPECT_TRUE(plan().empty());  // the check has nowhere to go
  apply(DeregisterCommand{kNode, "", ""});
  EXPECT_TRUE(plan().empty());
}

TEST_F(AgentLocalTest, AServiceReapedWhileCriticalIsDroppedOneLostWhilePassingComesBack) {
  for (const char* id : {"web-1", "web-2"}) {
    RegisterCommand r = serviceReg(id, 80);
    r.checks[0].definition.deregisterCriticalServiceAfter = "2s";
    agentRegister(r);
  }
  setStatus("web-2:a", HealthStatus::kPassing);
  std::set<std::string> critical;
  observeReapable(*cat_->view(), kNode, state_, critical);
  EXPECT_EQ(critical, std::set<std::string>{"web-1"});
  apply(DeregisterCommand{kNode, "web-1", ""});  // the health checker's reaper
  apply(DeregisterCommand{kNode, "web-2", ""});  // lost otherwise
  observeReapable(*cat_->view(), kNode, state_, critical);
  LocalRepair p = planLocalRepair(*cat_->view(), kNode, state_, critical);
  EXPECT_EQ(p.reaped, std::vector<std::string>{"web-1"});
  ASSERT_EQ(p.writes.size(), 1u);
  EXPECT_EQ(std::get<RegisterCommand>(p.writes[0]).service->id, "web-2");
  forgetGone(state_, p);
  EXPECT_EQ(state_.services.count("web-1"), 0u);
  EXPECT_EQ(state_.checks.count("web-1:a"), 0u);
  EXPECT_EQ(state_.goneServices.count("web-1"), 1u);
  observeReapable(*cat_->view(), kNode, state_, critical);
  EXPECT_TRUE(critical.empty());
}

TEST_F(AgentLocalTest, RowsReloadToTheSameState) {
  std::map<std::string, std::string> disk;
  auto write = [&disk](const std::vector<LocalRow>& rows) {
    for (const auto& r : rows) {
      EXPECT_EQ(r.key.rfind(kAgentLocalPrefix, 0), 0u);
      if (r.value)
        disk[r.key] = *r.value;
      else
        disk.erase(r.key);
    }
  };
  write(noteRegistered(state_, serviceReg("web-1", 80)));
  write(noteRegistered(state_, serviceReg("web-2", 81)));
  write(noteRegistered(state_, checkReg(ttlCheck("disk", ""))));
  write(noteDeregistered(state_, "web-2", "", 7));
  write(noteDeregistered(state_, "", "disk", 9));
  AgentLocalState back;
  for (const auto& [k, v] : disk) ASSERT_TRUE(loadLocalRow(back, k, v).ok()) << k;
  ASSERT_EQ(back.services.size(), 1u);
  EXPECT_TRUE(back.services.at("web-1").sameContent(state_.services.at("web-1")));
  ASSERT_EQ(back.checks.size(), 2u);
  for (const auto& [id, c] : state_.checks) EXPECT_TRUE(back.checks.at(id).sameContent(c)) << id;
  EXPECT_EQ(back.goneServices, (std::map<std::string, uint64_t>{{"web-2", 7}}));
  EXPECT_EQ(back.goneChecks, (std::map<std::string, uint64_t>{{"disk", 9}}));
  EXPECT_FALSE(loadLocalRow(back, "agent_local/x/1", "").ok());
  EXPECT_FALSE(loadLocalRow(back, "agent_local/gs/1", "12a").ok());
}

TEST_F(AgentLocalTest, TombstonesAreBoundedOldestFirst) {
  std::vector<LocalRow> last;
  for (uint64_t i = 0; i <= kMaxGone; ++i)
    last = noteDeregistered(state_, "svc-" + std::to_string(i), "", 100 + i);
  EXPECT_EQ(state_.goneServices.size(), kMaxGone);
  EXPECT_EQ(state_.goneServices.count("svc-0"), 0u);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[1], (LocalRow{"agent_local/gs/svc-0", std::nullopt}));
}

}  // namespace
}  // namespace cairn::server
