// RestoreCommand: the catalog becomes exactly a snapshot's rows, in one
// batch, at one fresh index, and every watcher wakes.
#include <gtest/gtest.h>
#include <zstd.h>

#include "registry/apply.hpp"
#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"
#include "registry/snapshot.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::registry {
namespace {

RegisterCommand reg(std::string node, std::string address, std::string svc, std::string id,
                    int port) {
  RegisterCommand r;
  r.node.name = std::move(node);
  r.node.address = std::move(address);
  Service s;
  s.name = std::move(svc);
  s.id = std::move(id);
  s.port = port;
  r.service = s;
  Check c;
  c.checkId = "chk-" + s.id;
  c.serviceId = s.id;
  c.status = HealthStatus::kWarning;
  c.output = "slow";
  r.checks.push_back(c);
  return r;
}

std::string payloadOf(const View& v) {
  static std::string file;  // the payload points into it
  file = writeSnapshotFile(v);
  auto f = openSnapshotFile(file);
  CAIRN_CHECK(f.ok(), "a fresh snapshot file opens");
  return std::string(f->payload);
}

// A payload of hand-made rows (serializeView's row format), for files that
// no View could produce.
std::string payloadOfRows(const std::vector<RowWrite>& rows) {
  std::string raw = "CAIRNSNAP1";
  auto put32 = [&](size_t v) {
    for (int i = 3; i >= 0; --i) raw.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  for (const auto& r : rows) {
    raw.push_back(static_cast<char>(r.table));
    put32(r.key.size());
    raw += r.key;
    put32(r.value.size());
    raw += r.value;
  }
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 1));
  return out;
}

std::vector<RowWrite> rowsOf(const View& v) {
  std::vector<RowWrite> rows;
  forEachRow(v, [&](Table t, std::string_view key, std::string_view value) {
    rows.push_back({t, std::string(key), std::string(value)});
  });
  return rows;
}

// Equal records (ignoring indexes), keyed alike, with the same checks attached.
void expectSameContent(const View& want, const View& got) {
  EXPECT_EQ(want.nodes.size(), got.nodes.size());
  want.nodes.forEach([&](const std::string& name, const NodeEntryPtr& n) {
    const auto* m = got.nodes.find(name);
    if (!m || !(*m)->node.sameContent(n->node)) {
      ADD_FAILURE() << "node " << name;
      return true;
    }
    EXPECT_EQ((*m)->checks.size(), n->checks.size()) << "node checks of " << name;
    return true;
  });
  EXPECT_EQ(want.nodeServices.size(), got.nodeServices.size());
  want.nodeServices.forEach([&](const std::string& key, const InstancePtr& i) {
    const auto* m = got.nodeServices.find(key);
    if (!m || !(*m)->service->sameContent(*i->service)) {
      ADD_FAILURE() << "service " << i->service->id;
      return true;
    }
    EXPECT_EQ((*m)->checks.size(), i->checks.size()) << "checks of " << i->service->id;
    return true;
  });
  EXPECT_EQ(want.checks.size(), got.checks.size());
  want.checks.forEach([&](const std::string& key, const CheckPtr& c) {
    const auto* m = got.checks.find(key);
    EXPECT_TRUE(m && (*m)->sameContent(*c)) << "check " << c->checkId;
    return true;
  });
  EXPECT_EQ(want.services.size(), got.services.size());
  want.services.forEach([&](const std::string& name, const ServiceGroupPtr& g) {
    const auto* m = got.services.find(name);
    EXPECT_TRUE(m && (*m)->instances.size() == g->instances.size()) << "group " << name;
    return true;
  });
}

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source = std::move(Catalog::open(sourceStore).value());
    uint64_t i = 0;
    for (int k = 0; k < 30; ++k)
      ASSERT_TRUE(source
                      ->apply(++i, reg("n" + std::to_string(k % 4), "10.0.0.1",
                                       k % 3 ? "web" : "db", "s" + std::to_string(k), 8000 + k))
                      .ok());
    ASSERT_TRUE(source->apply(++i, DeregisterCommand{"n1", "s5", ""}).ok());
    ASSERT_TRUE(source->flush().ok());

    target = std::move(Catalog::open(targetStore).value());
    // Some of the target's own: another node, a service the snapshot lacks,
    // and a node and service id that the snapshot has with other content.
    ASSERT_TRUE(target->apply(++idx, reg("old", "10.9.9.9", "legacy", "l1", 1)).ok());
    ASSERT_TRUE(target->apply(++idx, reg("n0", "10.9.9.9", "web", "s0", 1)).ok());
    ASSERT_TRUE(target->flush().ok());
  }

  testing::MemoryStore sourceStore, targetStore;
  std::unique_ptr<Catalog> source, target;
  uint64_t idx = 100;  // the target's log is ahead of the source's
};

TEST_F(RestoreTest, CatalogBecomesExactlyTheSnapshotAtTheRestoreIndex) {
  int commitsBefore = targetStore.commits;
  uint64_t at = ++idx;
  ASSERT_TRUE(target->apply(at, RestoreCommand{payloadOf(*source->view())}).ok());
  ASSERT_TRUE(target->flush().ok());
  EXPECT_EQ(targetStore.commits, commitsBefore + 1);  // one batch

  auto v = target->view();
  expectSameContent(*source->view(), *v);
  EXPECT_EQ(v->index, at);
  EXPECT_EQ(v->services.find("legacy"), nullptr);
  EXPECT_EQ(v->nodes.find("old"), nullptr);
  // Every index is the restore's: record indexes, node and service indexes,
  // the tables', and the fallback of a service that is gone.
  v->nodes.forEach([&](const std::string&, const NodeEntryPtr& n) {
    EXPECT_EQ(n->index, at);
    EXPECT_EQ(n->node.createIndex, at);
    EXPECT_EQ(n->node.modifyIndex, at);
    return true;
  });
  v->nodeServices.forEach([&](const std::string&, const InstancePtr& i) {
    EXPECT_EQ(i->service->createIndex, at);
    EXPECT_EQ(i->service->modifyIndex, at);
    return true;
  });
  v->checks.forEach([&](const std::string&, const CheckPtr& c) {
    EXPECT_EQ(c->createIndex, at);
    EXPECT_EQ(c->modifyIndex, at);
    return true;
  });
  EXPECT_EQ(v->serviceIndex("web"), at);
  EXPECT_EQ(v->serviceIndex("legacy"), at);
  EXPECT_EQ(v->nodeIndex("old"), at);
  EXPECT_EQ(v->nodesIndex, at);
  EXPECT_EQ(v->servicesIndex, at);
  EXPECT_EQ(v->checksIndex, at);

  // The store holds exactly the new catalog: a restart loads the same.
  auto reopened = std::move(Catalog::open(targetStore).value());
  expectSameContent(*v, *reopened->view());
  EXPECT_EQ(reopened->view()->index, at);
  EXPECT_EQ(reopened->view()->serviceIndex("web"), at);
  EXPECT_EQ(targetStore.tables[static_cast<int>(Table::kServices)].size(),
            source->view()->nodeServices.size());

  // Writes go on from there as usual.
  ASSERT_TRUE(target->apply(++idx, reg("n9", "10.0.0.9", "web", "later", 1)).ok());
  ASSERT_TRUE(target->flush().ok());
  EXPECT_EQ(target->view()->serviceIndex("web"), idx);
  EXPECT_EQ(target->view()->serviceIndex("db"), at);
}

TEST_F(RestoreTest, WakesEveryWatcher) {
  int fired = 0;
  auto before = target->view();
  auto unchanged = [](uint64_t seen, auto indexOf) {
    return [seen, indexOf](const View& v) { return indexOf(v) != seen; };
  };
  std::vector<std::pair<std::string, std::function<uint64_t(const View&)>>> watches = {
      {serviceWatchKey("legacy"), [](const View& v) { return v.serviceIndex("legacy"); }},
      {serviceWatchKey("db"), [](const View& v) { return v.serviceIndex("db"); }},
      {nodeWatchKey("old"), [](const View& v) { return v.nodeIndex("old"); }},
      {std::string(kServicesTableKey), [](const View& v) { return v.servicesIndex; }},
  };
  for (auto& [key, indexOf] : watches)
    ASSERT_NE(
        target->watches().watch({key}, unchanged(indexOf(*before), indexOf), [&] { ++fired; }), 0u);
  ASSERT_TRUE(target->apply(++idx, RestoreCommand{payloadOf(*source->view())}).ok());
  ASSERT_TRUE(target->flush().ok());
  EXPECT_EQ(fired, 4);
  EXPECT_EQ(target->watches().waiting(), 0u);
  // And what each of them reads now differs from what it had seen.
  for (auto& [key, indexOf] : watches) EXPECT_NE(indexOf(*target->view()), indexOf(*before)) << key;
}

TEST_F(RestoreTest, InvalidPayloadChangesNothing) {
  auto before = target->view();
  std::string payload = payloadOf(*source->view());
  for (std::string bad : {std::string("garbage"), payload.substr(0, payload.size() / 2)}) {
    Status st = target->apply(++idx, RestoreCommand{bad});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);  // never kCorruption: see replay
  }
  ASSERT_TRUE(target->flush().ok());
  expectSameContent(*before, *target->view());
  EXPECT_EQ(target->view()->index, idx);  // the failed commands consumed their indexes
  EXPECT_EQ(target->view()->serviceIndex("legacy"), before->serviceIndex("legacy"));
}

TEST_F(RestoreTest, InconsistentSnapshotsAreRefused) {
  // A service whose node is missing.
  View orphanService = *source->view();
  orphanService.nodes = orphanService.nodes.erase("n2");
  auto v = restoredView(payloadOf(orphanService), 5);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("which is not in the snapshot"), std::string::npos)
      << v.error().message;
  // A check whose service is missing.
  View orphanCheck = *source->view();
  orphanCheck.nodeServices = orphanCheck.nodeServices.erase(instanceKey("n0", "s0"));
  v = restoredView(payloadOf(orphanCheck), 5);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("service \"s0\", which is not in the snapshot"),
            std::string::npos)
      << v.error().message;
  // A row under another record's key.
  View misKeyed = *source->view();
  misKeyed.nodeServices = misKeyed.nodeServices.set(
      instanceKey("n0", "elsewhere"), *misKeyed.nodeServices.find(instanceKey("n0", "s0")));
  v = restoredView(payloadOf(misKeyed), 5);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("mismatched key"), std::string::npos) << v.error().message;
}

TEST_F(RestoreTest, RepeatedRowsAreRefusedAndRowOrderDoesNotMatter) {
  auto rows = rowsOf(*source->view());
  ASSERT_TRUE(restoredView(payloadOfRows(rows), 5).ok());
  for (Table t : {Table::kNodes, Table::kServices, Table::kChecks}) {
    auto repeated = rows;
    auto first =
        std::find_if(rows.begin(), rows.end(), [t](const RowWrite& r) { return r.table == t; });
    ASSERT_NE(first, rows.end());
    repeated.push_back(*first);
    auto v = restoredView(payloadOfRows(repeated), 5);
    ASSERT_FALSE(v.ok()) << "table " << static_cast<int>(t);
    EXPECT_NE(v.error().message.find("repeats"), std::string::npos) << v.error().message;
  }
  // Rows out of key order (no server writes them so, but a file may hold
  // them) give the same catalog.
  auto shuffled = rows;
  std::reverse(shuffled.begin(), shuffled.end());
  auto v = restoredView(payloadOfRows(shuffled), 5);
  ASSERT_TRUE(v.ok()) << v.error().message;
  expectSameContent(*source->view(), *v);
}

TEST_F(RestoreTest, EveryServerEndsWithTheSameRows) {
  // The command as replicated (encoded, decoded), applied on two servers with
  // different histories: byte-identical stores afterwards.
  std::string cmd = encodeCommand(RestoreCommand{payloadOf(*source->view())});
  auto decoded = decodeCommand(cmd);
  ASSERT_TRUE(decoded.ok());
  ASSERT_TRUE(std::holds_alternative<RestoreCommand>(*decoded));
  testing::MemoryStore otherStore;
  auto other = std::move(Catalog::open(otherStore).value());
  for (uint64_t i = 1; i <= idx; ++i) other->skip(i);
  ASSERT_TRUE(target->apply(++idx, *decoded).ok());
  ASSERT_TRUE(other->apply(idx, cmd).ok());
  ASSERT_TRUE(target->flush().ok());
  ASSERT_TRUE(other->flush().ok());
  for (int t = 0; t < 4; ++t)
    EXPECT_EQ(targetStore.tables[t], otherStore.tables[t]) << "table " << t;
}

}  // namespace
}  // namespace cairn::registry
