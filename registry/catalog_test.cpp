#include "registry/catalog.hpp"

#include <gtest/gtest.h>

#include "registry/catalog_fixture_test_util.hpp"

namespace cairn::registry {
namespace {

RegisterCommand reg(std::string node, std::string svc, std::string id, int port = 80) {
  RegisterCommand r;
  r.node.name = std::move(node);
  r.node.address = "10.0.0.1";
  Service s;
  s.name = std::move(svc);
  s.id = std::move(id);
  s.port = port;
  r.service = s;
  return r;
}

class CatalogTest : public testing::CatalogFixture {};

TEST_F(CatalogTest, RegisterAssignsIndexesAndPublishes) {
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1")).ok());
  auto v = cat->view();
  EXPECT_EQ(v->index, 1u);
  const auto* g = v->services.find("web");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ((*g)->instances.size(), 1u);
  const auto* inst = v->nodeServices.find(instanceKey("n1", "web1"));
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ((*inst)->service->createIndex, 1u);
  EXPECT_EQ((*inst)->service->modifyIndex, 1u);
  EXPECT_EQ(v->serviceIndex("web"), 1u);
  EXPECT_EQ(v->servicesIndex, 1u);
  EXPECT_EQ(v->nodesIndex, 1u);
}

TEST_F(CatalogTest, IdenticalReRegistrationChangesNoIndex) {
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1")).ok());
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1")).ok());
  auto v = cat->view();
  EXPECT_EQ(v->index, 2u);
  EXPECT_EQ(v->serviceIndex("web"), 1u);
  EXPECT_EQ((*v->nodeServices.find(instanceKey("n1", "web1")))->service->modifyIndex, 1u);
}

TEST_F(CatalogTest, WriteToOneServiceLeavesOthersIndex) {
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1")).ok());
  ASSERT_TRUE(applyFlush(reg("n1", "db", "db1")).ok());
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1", 81)).ok());
  auto v = cat->view();
  EXPECT_EQ(v->serviceIndex("web"), 3u);
  EXPECT_EQ(v->serviceIndex("db"), 2u);
  auto* inst = v->nodeServices.find(instanceKey("n1", "web1"));
  EXPECT_EQ((*inst)->service->createIndex, 1u);
  EXPECT_EQ((*inst)->service->modifyIndex, 3u);
}

TEST_F(CatalogTest, ChecksAttachAndStatusChanges) {
  auto r = reg("n1", "web", "web1");
  Check c;
  c.checkId = "service:web1";
  c.name = "ttl";
  c.serviceId = "web1";
  c.type = "ttl";
  r.checks.push_back(c);
  ASSERT_TRUE(applyFlush(r).ok());
  auto v = cat->view();
  auto inst = *v->nodeServices.find(instanceKey("n1", "web1"));
  ASSERT_EQ(inst->checks.size(), 1u);
  EXPECT_EQ(inst->checks[0]->status, HealthStatus::kCritical);
  EXPECT_EQ(inst->checks[0]->serviceName, "web");

  ASSERT_TRUE(
      applyFlush(CheckStatusCommand{"n1", "service:web1", HealthStatus::kPassing, "ok"}).ok());
  v = cat->view();
  inst = *v->nodeServices.find(instanceKey("n1", "web1"));
  EXPECT_EQ(inst->checks[0]->status, HealthStatus::kPassing);
  EXPECT_EQ(inst->checks[0]->modifyIndex, 2u);
  EXPECT_EQ(v->serviceIndex("web"), 2u);
  EXPECT_EQ(v->checksIndex, 2u);

  // A heartbeat that changes nothing moves no index.
  ASSERT_TRUE(
      applyFlush(CheckStatusCommand{"n1", "service:web1", HealthStatus::kPassing, "ok"}).ok());
  EXPECT_EQ(cat->view()->serviceIndex("web"), 2u);

  // A batch (through its encoding, version 2) applies every update; one for
  // a check that is gone is skipped.
  CheckStatusBatchCommand batch{{{"n1", "gone", HealthStatus::kPassing, ""},
                                 {"n1", "service:web1", HealthStatus::kWarning, "slow"}}};
  auto decoded = decodeCommand(encodeCommand(batch));
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(std::get<CheckStatusBatchCommand>(*decoded).updates.size(), 2u);
  ASSERT_TRUE(applyFlush(*decoded).ok());
  v = cat->view();
  inst = *v->nodeServices.find(instanceKey("n1", "web1"));
  EXPECT_EQ(inst->checks[0]->status, HealthStatus::kWarning);
  EXPECT_EQ(inst->checks[0]->output, "slow");
}

TEST_F(CatalogTest, CheckForMissingServiceFailsAtomically) {
  RegisterCommand r = reg("n1", "web", "web1");
  Check c;
  c.checkId = "bad";
  c.serviceId = "nope";
  r.checks.push_back(c);
  Status st = applyFlush(r);
  EXPECT_FALSE(st.ok());
  auto v = cat->view();
  EXPECT_EQ(v->index, 1u) << "the failed command still consumes its index";
  EXPECT_EQ(v->services.find("web"), nullptr) << "nothing of a failed command is applied";
}

TEST_F(CatalogTest, DeregisterServiceAndNode) {
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1")).ok());
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web2")).ok());
  ASSERT_TRUE(applyFlush(reg("n1", "db", "db1")).ok());
  ASSERT_TRUE(applyFlush(DeregisterCommand{"n1", "web1", ""}).ok());
  auto v = cat->view();
  EXPECT_EQ((*v->services.find("web"))->instances.size(), 1u);
  EXPECT_EQ(v->serviceIndex("web"), 4u);
  ASSERT_TRUE(applyFlush(DeregisterCommand{"n1", "", ""}).ok());
  v = cat->view();
  EXPECT_TRUE(v->services.empty());
  EXPECT_TRUE(v->nodes.empty());
  EXPECT_TRUE(v->nodeServices.empty());
  EXPECT_EQ(v->serviceIndex("web"), 5u) << "a vanished service reports the table index";
}

TEST_F(CatalogTest, NodeCheckChangeTouchesServicesOnNode) {
  ASSERT_TRUE(applyFlush(reg("n1", "web", "web1")).ok());
  ASSERT_TRUE(applyFlush(reg("n2", "db", "db1")).ok());
  RegisterCommand r;
  r.node.name = "n1";
  r.skipNodeUpdate = true;
  Check c;
  c.checkId = "serfHealth";
  c.status = HealthStatus::kPassing;
  r.checks.push_back(c);
  ASSERT_TRUE(applyFlush(r).ok());
  auto v = cat->view();
  EXPECT_EQ(v->serviceIndex("web"), 3u);
  EXPECT_EQ(v->serviceIndex("db"), 2u);
  auto inst = *v->nodeServices.find(instanceKey("n1", "web1"));
  EXPECT_EQ(v->checksOf(*inst).size(), 1u);
}

TEST_F(CatalogTest, RestartFromStoreRestoresEverything) {
  auto r = reg("n1", "web", "web1");
  Check c;
  c.checkId = "c1";
  c.serviceId = "web1";
  r.checks.push_back(c);
  ASSERT_TRUE(applyFlush(r).ok());
  ASSERT_TRUE(applyFlush(reg("n1", "db", "db1")).ok());
  ASSERT_TRUE(applyFlush(DeregisterCommand{"n1", "db1", ""}).ok());
  ASSERT_TRUE(applyFlush(CheckStatusCommand{"n1", "c1", HealthStatus::kWarning, "w"}).ok());
  auto before = cat->view();

  auto reopened = Catalog::open(store);
  ASSERT_TRUE(reopened.ok());
  auto after = (*reopened)->view();
  EXPECT_EQ(after->index, before->index);
  EXPECT_EQ(after->nodesIndex, before->nodesIndex);
  EXPECT_EQ(after->servicesIndex, before->servicesIndex);
  EXPECT_EQ(after->checksIndex, before->checksIndex);
  EXPECT_EQ(after->serviceIndex("web"), before->serviceIndex("web"));
  EXPECT_EQ(after->serviceIndex("db"), before->serviceIndex("db"));
  EXPECT_EQ(after->nodeIndex("n1"), before->nodeIndex("n1"));
  auto inst = *after->nodeServices.find(instanceKey("n1", "web1"));
  ASSERT_EQ(inst->checks.size(), 1u);
  EXPECT_EQ(inst->checks[0]->status, HealthStatus::kWarning);
  EXPECT_EQ(inst->checks[0]->modifyIndex, 4u);
}

TEST_F(CatalogTest, NothingPublishedUntilFlushAndFailedFlushPublishesNothing) {
  ASSERT_TRUE(cat->apply(++idx, reg("n1", "web", "web1")).ok());
  EXPECT_EQ(cat->view()->index, 0u);
  store.failNext = true;
  EXPECT_FALSE(cat->flush().ok());
  EXPECT_EQ(cat->view()->index, 0u);
  EXPECT_TRUE(cat->flush().ok());
  EXPECT_EQ(cat->view()->index, 1u);
}

// Rolling upgrades: an older binary refuses a command of a newer version
// with a clear error instead of applying what it does not understand.
TEST_F(CatalogTest, CommandOfNewerVersionIsRefused) {
  std::string bytes = encodeCommand(reg("n1", "web", "web1"));
  bytes += std::string("\x08\x63", 2);  // field 1 (version) = 99; the last value wins
  auto decoded = decodeCommand(bytes);
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("newer than this binary"), std::string::npos)
      << decoded.error().message;
}

TEST_F(CatalogTest, CommandRoundTripsThroughEncoding) {
  auto r = reg("n1", "web", "web1");
  r.service->tags = {"a", "b"};
  r.service->meta = {{"k", "v"}};
  r.service->weights = {5, 2};
  Check c;
  c.checkId = "c";
  c.serviceId = "web1";
  c.definition.http = "http://x";
  c.definition.header = {{"H", {"1", "2"}}};
  r.checks.push_back(c);
  auto decoded = decodeCommand(encodeCommand(r));
  ASSERT_TRUE(decoded.ok());
  const auto& d = std::get<RegisterCommand>(*decoded);
  EXPECT_TRUE(d.service->sameContent(*r.service));
  EXPECT_TRUE(d.checks[0].sameContent(c));
  EXPECT_FALSE(decodeCommand("\xff\xff garbage").ok());
}

// A gRPC check's fields (CheckDef 16, 17) travel in commands and store rows;
// such a register is version 3, so an older binary refuses it rather than
// keep the check without its target. Everything else keeps its old version.
TEST_F(CatalogTest, GrpcCheckFieldsRoundTripAsVersion3) {
  auto r = reg("n1", "web", "web1");
  EXPECT_EQ(commandVersion(r), 1u);
  Check c;
  c.checkId = "g";
  c.serviceId = "web1";
  c.type = "grpc";
  c.definition.grpc = "127.0.0.1:50051/web";
  c.definition.grpcUseTls = true;
  c.definition.interval = "10s";
  r.checks.push_back(c);
  EXPECT_EQ(commandVersion(r), 3u);
  auto decoded = decodeCommand(encodeCommand(r));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto& d = std::get<RegisterCommand>(*decoded);
  EXPECT_EQ(d.checks[0].definition.grpc, "127.0.0.1:50051/web");
  EXPECT_TRUE(d.checks[0].definition.grpcUseTls);
  EXPECT_TRUE(d.checks[0].sameContent(c));
  auto row = decodeCheck(encodeCheck(c));
  ASSERT_TRUE(row.ok());
  EXPECT_TRUE(row->sameContent(c));
}

// A check row written before the gRPC fields existed (bytes as the older
// binary wrote them) still decodes, with no gRPC target.
TEST_F(CatalogTest, CheckRowWithoutGrpcFieldsDecodes) {
  // CheckRec{node "n1", check_id "c", type "tcp", definition{tcp "h:1"}}
  const std::string old(
      "\x0a\x02n1\x12\x01"
      "c\x52\x03tcp\x5a\x05\x2a\x03h:1",
      19);
  auto c = decodeCheck(old);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->node, "n1");
  EXPECT_EQ(c->type, "tcp");
  EXPECT_EQ(c->definition.tcp, "h:1");
  EXPECT_EQ(c->definition.grpc, "");
  EXPECT_FALSE(c->definition.grpcUseTls);
}

}  // namespace
}  // namespace cairn::registry
