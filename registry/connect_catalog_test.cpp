// The mesh's state in the catalog: commands, apply, snapshots, proxy lists.
#include <gtest/gtest.h>

#include "registry/apply.hpp"
#include "registry/catalog.hpp"
#include "registry/catalog_fixture_test_util.hpp"
#include "registry/snapshot.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::registry {
namespace {

CaRoot root(std::string id, bool active) {
  CaRoot r;
  r.id = std::move(id);
  r.name = "Cairn CA Primary Cert";
  r.serialNumber = 7;
  r.signingKeyId = "aa:bb";
  r.notBefore = 100;
  r.notAfter = 200;
  r.rootCert = "PEM of " + r.id;
  r.privateKey = "KEY of " + r.id;
  r.active = active;
  return r;
}

CaSetCommand bootstrap() {
  CaSetCommand c;
  c.state.clusterId = "11111111-2222-3333-4444-555555555555";
  c.state.roots = {root("r1", true)};
  return c;
}

Intention ixn(std::string id, std::string src, std::string dst, IntentionAction a) {
  Intention i;
  i.id = std::move(id);
  i.sourceName = std::move(src);
  i.destinationName = std::move(dst);
  i.action = a;
  i.createdAt = i.updatedAt = 1000;
  return i;
}

RegisterCommand proxyReg(std::string node, std::string name, std::string id, std::string dest) {
  RegisterCommand r;
  r.node.name = std::move(node);
  r.node.address = "10.0.0.1";
  Service s;
  s.name = std::move(name);
  s.id = std::move(id);
  s.kind = std::string(kConnectProxyKind);
  s.proxy.destinationServiceName = std::move(dest);
  s.proxy.localServicePort = 8080;
  s.proxy.upstreams = {{"db", "", "127.0.0.1", 9191, R"({"policy":"round_robin"})"}};
  r.service = s;
  return r;
}

class ConnectCatalogTest : public testing::CatalogFixture {};

TEST(ConnectCommands, RoundTripThroughEncoding) {
  CaSetCommand ca = bootstrap();
  ca.state.roots.push_back(root("r0", false));
  ca.state.roots.back().intermediateCerts = {"X1", "X2"};
  ca.state.roots.back().rotatedOutAt = 150;
  ca.expectModifyIndex = 42;
  auto back = decodeCommand(encodeCommand(ca));
  ASSERT_TRUE(back.ok());
  const auto& got = std::get<CaSetCommand>(*back);
  EXPECT_EQ(got.state, ca.state);
  EXPECT_EQ(got.expectModifyIndex, 42u);

  IntentionPutCommand put{ixn("id1", "web", "db", IntentionAction::kAllow), true, false};
  put.intention.meta = {{"k", "v"}};
  put.intention.description = "why";
  back = decodeCommand(encodeCommand(put));
  ASSERT_TRUE(back.ok());
  const auto& gp = std::get<IntentionPutCommand>(*back);
  EXPECT_TRUE(gp.intention.sameContent(put.intention));
  EXPECT_EQ(gp.intention.createdAt, 1000);
  EXPECT_TRUE(gp.byName);
  EXPECT_FALSE(gp.mustExist);
  put.intention.action = IntentionAction::kDeny;
  EXPECT_EQ(std::get<IntentionPutCommand>(*decodeCommand(encodeCommand(put))).intention.action,
            IntentionAction::kDeny);

  IntentionDeleteCommand del{"", "web", "db"};
  back = decodeCommand(encodeCommand(del));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<IntentionDeleteCommand>(*back).sourceName, "web");
  EXPECT_EQ(std::get<IntentionDeleteCommand>(*back).destinationName, "db");

  // The mesh's commands are version 4; the older kinds keep theirs.
  EXPECT_EQ(commandVersion(ca), 4u);
  EXPECT_EQ(commandVersion(del), 4u);
  EXPECT_EQ(commandVersion(RegisterCommand{}), 1u);
}

TEST(ConnectCommands, ProxyFieldsRoundTripAndOldRowsReadWithout) {
  auto reg = proxyReg("n1", "web-proxy", "web-proxy-1", "web");
  reg.service->connectNative = true;
  auto back = decodeService(encodeService(*reg.service));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->sameContent(*reg.service));
  EXPECT_EQ(back->proxy.upstreams.at(0).localBindPort, 9191);
  // A service row written before the proxy fields existed.
  Service plain;
  plain.name = "old";
  plain.id = "old";
  auto p = decodeService(encodeService(plain));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->proxy, ServiceProxy{});
  EXPECT_FALSE(p->connectNative);
}

TEST_F(ConnectCatalogTest, CaSetIsCompareAndSet) {
  ASSERT_TRUE(applyFlush(bootstrap()).ok());
  auto v = cat->view();
  ASSERT_TRUE(v->ca);
  EXPECT_EQ(v->ca->modifyIndex, 1u);
  EXPECT_EQ(v->caIndex, 1u);
  EXPECT_EQ(v->ca->active()->id, "r1");
  EXPECT_EQ(v->ca->trustDomain(), "11111111-2222-3333-4444-555555555555.consul");
  // A second bootstrap (another leader racing) loses and changes nothing.
  auto again = bootstrap();
  again.state.roots = {root("r-other", true)};
  EXPECT_FALSE(applyFlush(again).ok());
  EXPECT_EQ(cat->view()->ca->active()->id, "r1");

  // A rotation that read index 1 wins; one that read 0 loses.
  CaSetCommand rot;
  rot.state = *cat->view()->ca;
  rot.state.roots[0].active = false;
  rot.state.roots[0].rotatedOutAt = 150;
  rot.state.roots.push_back(root("r2", true));
  rot.expectModifyIndex = 1;
  ASSERT_TRUE(applyFlush(rot).ok());
  v = cat->view();
  EXPECT_EQ(v->ca->active()->id, "r2");
  EXPECT_EQ(v->ca->roots.size(), 2u);
  EXPECT_EQ(v->ca->roots[0].createIndex, 1u);
  EXPECT_EQ(v->ca->roots[0].modifyIndex, 3u);  // changed (deactivated)
  EXPECT_EQ(v->ca->roots[1].createIndex, 3u);
  EXPECT_EQ(v->ca->createIndex, 1u);
  rot.expectModifyIndex = 1;
  EXPECT_FALSE(applyFlush(rot).ok());

  // Exactly one active root, and the cluster ID never changes.
  CaSetCommand bad;
  bad.state = *cat->view()->ca;
  bad.expectModifyIndex = cat->view()->ca->modifyIndex;
  bad.state.roots[0].active = true;
  EXPECT_FALSE(applyFlush(bad).ok());
  bad.state = *cat->view()->ca;
  bad.state.clusterId = "other";
  EXPECT_FALSE(applyFlush(bad).ok());
}

TEST_F(ConnectCatalogTest, IntentionsCreateUpdateDeleteAndStayUnique) {
  using A = IntentionAction;
  ASSERT_TRUE(applyFlush(IntentionPutCommand{ixn("i1", "web", "db", A::kAllow)}).ok());
  EXPECT_EQ(cat->view()->intentionsIndex, 1u);
  // Another ID for the same pair is a duplicate.
  auto dup = applyFlush(IntentionPutCommand{ixn("i2", "web", "db", A::kDeny)});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("duplicate"), std::string::npos);
  // By name, it updates the existing one and keeps its ID and creation.
  auto upd = ixn("i9", "web", "db", A::kDeny);
  upd.createdAt = 5000;
  ASSERT_TRUE(applyFlush(IntentionPutCommand{upd, true}).ok());
  auto v = cat->view();
  ASSERT_EQ(v->intentions.size(), 1u);
  const auto& i1 = **v->intentions.find("i1");
  EXPECT_EQ(i1.action, A::kDeny);
  EXPECT_EQ(i1.createIndex, 1u);
  EXPECT_EQ(i1.modifyIndex, 3u);
  EXPECT_EQ(i1.createdAt, 1000);
  // Update by ID of an unknown intention.
  auto missing = applyFlush(IntentionPutCommand{ixn("nope", "a", "b", A::kDeny), false, true});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  // Invalid ones are refused.
  EXPECT_FALSE(applyFlush(IntentionPutCommand{ixn("i3", "we*b", "db", A::kDeny)}).ok());
  // Delete by names, then by ID; deleting nothing is fine.
  ASSERT_TRUE(applyFlush(IntentionPutCommand{ixn("i4", "*", "db", A::kAllow)}).ok());
  ASSERT_TRUE(applyFlush(IntentionDeleteCommand{"", "web", "db"}).ok());
  ASSERT_TRUE(applyFlush(IntentionDeleteCommand{"i4", "", ""}).ok());
  ASSERT_TRUE(applyFlush(IntentionDeleteCommand{"i4", "", ""}).ok());
  EXPECT_EQ(cat->view()->intentions.size(), 0u);
  EXPECT_TRUE(store.tables[static_cast<int>(Table::kConnect)].empty());
}

TEST_F(ConnectCatalogTest, StateSurvivesReopenSnapshotAndRestore) {
  ASSERT_TRUE(applyFlush(bootstrap()).ok());
  ASSERT_TRUE(
      applyFlush(IntentionPutCommand{ixn("i1", "web", "db", IntentionAction::kAllow)}).ok());
  ASSERT_TRUE(applyFlush(proxyReg("n1", "web-proxy", "wp1", "web")).ok());
  auto before = cat->view();

  // Reopen from the same store.
  auto reopened = std::move(Catalog::open(store).value());
  auto v = reopened->view();
  ASSERT_TRUE(v->ca);
  EXPECT_EQ(*v->ca, *before->ca);
  EXPECT_EQ(v->caIndex, before->caIndex);
  EXPECT_EQ(v->intentionsIndex, before->intentionsIndex);
  ASSERT_EQ(v->intentions.size(), 1u);
  EXPECT_EQ((*v->intentions.find("i1"))->destinationName, "db");
  ASSERT_NE(v->connectDests.find("web"), nullptr);
  EXPECT_EQ((*v->connectDests.find("web"))->proxies, std::vector<std::string>{"web-proxy"});

  // Raft snapshot bytes into another store.
  auto rows = parseSnapshot(serializeView(*before));
  ASSERT_TRUE(rows.ok());
  testing::MemoryStore other;
  ASSERT_TRUE(other.commit(*rows, before->index).ok());
  auto installed = std::move(Catalog::open(other).value());
  EXPECT_EQ(*installed->view()->ca, *before->ca);
  EXPECT_EQ(installed->view()->intentions.size(), 1u);

  // A snapshot file restored at a later index: everything restamped.
  auto restored = restoredView(openSnapshotFile(writeSnapshotFile(*before))->payload, 50);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  ASSERT_TRUE(restored->ca);
  EXPECT_EQ(restored->ca->active()->rootCert, before->ca->active()->rootCert);
  EXPECT_EQ(restored->ca->modifyIndex, 50u);
  EXPECT_EQ(restored->caIndex, 50u);
  EXPECT_EQ((*restored->intentions.find("i1"))->modifyIndex, 50u);
}

// A store written before the mesh existed (no connect rows, no connect
// index rows) opens with no CA and no intentions.
TEST_F(ConnectCatalogTest, OldDataOpensWithoutMeshState) {
  RegisterCommand r;
  r.node.name = "n1";
  r.node.address = "10.0.0.1";
  ASSERT_TRUE(applyFlush(r).ok());
  auto rows = parseSnapshot(serializeView(*cat->view()));
  ASSERT_TRUE(rows.ok());
  for (const auto& row : *rows) EXPECT_NE(row.table, Table::kConnect);
  auto reopened = std::move(Catalog::open(store).value());
  EXPECT_FALSE(reopened->view()->ca);
  EXPECT_EQ(reopened->view()->intentions.size(), 0u);
  EXPECT_EQ(reopened->view()->caIndex, 0u);
}

TEST_F(ConnectCatalogTest, ProxyListsFollowRegistrations) {
  ASSERT_TRUE(applyFlush(proxyReg("n1", "web-proxy", "wp1", "web")).ok());
  ASSERT_TRUE(applyFlush(proxyReg("n2", "web-proxy", "wp2", "web")).ok());
  auto v = cat->view();
  ASSERT_NE(v->connectDests.find("web"), nullptr);
  EXPECT_EQ((*v->connectDests.find("web"))->proxies.size(), 1u);
  uint64_t i1 = v->connectIndex("web");
  EXPECT_GE(i1, 2u);
  // A check on a proxy instance moves the destination's connect index.
  RegisterCommand chk = proxyReg("n1", "web-proxy", "wp1", "web");
  Check c;
  c.checkId = "alive";
  c.serviceId = "wp1";
  chk.checks.push_back(c);
  ASSERT_TRUE(applyFlush(chk).ok());
  uint64_t i2 = cat->view()->connectIndex("web");
  EXPECT_GT(i2, i1);
  // One instance repointed: still listed (the other points at web).
  ASSERT_TRUE(applyFlush(proxyReg("n1", "web-proxy", "wp1", "api")).ok());
  v = cat->view();
  EXPECT_EQ((*v->connectDests.find("web"))->proxies.size(), 1u);
  EXPECT_EQ((*v->connectDests.find("api"))->proxies, std::vector<std::string>{"web-proxy"});
  // The last one gone: unlisted, and the index still grows.
  uint64_t i3 = v->connectIndex("web");
  ASSERT_TRUE(applyFlush(DeregisterCommand{"n2", "wp2", ""}).ok());
  v = cat->view();
  EXPECT_TRUE((*v->connectDests.find("web"))->proxies.empty());
  EXPECT_GT(v->connectIndex("web"), i3);
}

}  // namespace
}  // namespace cairn::registry
