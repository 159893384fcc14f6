#include "registry/snapshot.hpp"

#include <gtest/gtest.h>

#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"

namespace cairn::registry {
namespace {

TEST(CatalogSnapshot, RoundTripsThroughAStore) {
  testing::MemoryStore a;
  auto cat = std::move(Catalog::open(a).value());
  uint64_t idx = 0;
  for (int i = 0; i < 20; ++i) {
    RegisterCommand r;
    r.node.name = "n" + std::to_string(i % 3);
    r.node.address = "10.0.0.1";
    Service s;
    s.name = "svc" + std::to_string(i % 4);
    s.id = "id" + std::to_string(i);
    r.service = s;
    Check c;
    c.checkId = "c" + std::to_string(i);
    c.serviceId = s.id;
    r.checks.push_back(c);
    ASSERT_TRUE(cat->apply(++idx, r).ok());
  }
  ASSERT_TRUE(cat->apply(++idx, DeregisterCommand{"n1", "id4", ""}).ok());
  ASSERT_TRUE(cat->flush().ok());
  auto before = cat->view();
  auto rows = parseSnapshot(serializeView(*before));
  ASSERT_TRUE(rows.ok());
  testing::MemoryStore b;
  ASSERT_TRUE(b.commit(*rows, before->index).ok());
  auto restored = std::move(Catalog::open(b).value());
  auto after = restored->view();
  EXPECT_EQ(after->index, before->index);
  EXPECT_EQ(after->nodeServices.size(), before->nodeServices.size());
  EXPECT_EQ(after->checks.size(), before->checks.size());
  for (auto name : {"svc0", "svc1", "svc2", "svc3", "nope"})
    EXPECT_EQ(after->serviceIndex(name), before->serviceIndex(name)) << name;
  EXPECT_EQ(after->nodeIndex("n1"), before->nodeIndex("n1"));
  EXPECT_FALSE(parseSnapshot("garbage").ok());
  EXPECT_FALSE(parseSnapshot(serializeView(*before).substr(0, 40)).ok());
}

// The streamed writer produces serializeView's bytes, and the piecewise
// reader yields parseSnapshot's rows, whatever the piece and batch sizes.
TEST(CatalogSnapshot, StreamsInPiecesWithBoundedBatches) {
  testing::MemoryStore a;
  auto cat = std::move(Catalog::open(a).value());
  for (int i = 0; i < 200; ++i) {
    RegisterCommand r;
    r.node.name = "n" + std::to_string(i % 7);
    r.node.address = "10.0.0.1";
    Service s;
    s.name = "svc" + std::to_string(i % 5);
    s.id = "id" + std::to_string(i);
    s.tags = {std::string(static_cast<size_t>(i), 'x')};
    r.service = s;
    ASSERT_TRUE(cat->apply(static_cast<uint64_t>(i + 1), r).ok());
  }
  ASSERT_TRUE(cat->flush().ok());
  auto view = cat->view();
  std::string whole = serializeView(*view);
  std::string streamed;
  size_t pieces = 0;
  ASSERT_TRUE(serializeViewTo(
                  *view,
                  [&](std::string_view p) {
                    streamed.append(p);
                    ++pieces;
                    return Status{};
                  },
                  512)
                  .ok());
  EXPECT_EQ(streamed, whole);
  EXPECT_GT(pieces, 10u);
  auto expected = parseSnapshot(whole);
  ASSERT_TRUE(expected.ok());
  for (uint64_t readSize : {1, 7, 4096}) {
    size_t reads = 0;
    SnapshotRowReader reader(
        [&](uint64_t off, uint64_t n) -> Result<std::string> {
          ++reads;
          return whole.substr(off, std::min<uint64_t>(n, readSize));
        },
        whole.size());
    std::vector<RowWrite> got;
    while (true) {
      auto batch = reader.next(1000);
      ASSERT_TRUE(batch.ok()) << batch.error().message;
      if (batch->empty()) break;
      EXPECT_LT(batch->size(), 40u) << "a batch holds about maxBytes";
      for (auto& r : *batch) got.push_back(std::move(r));
    }
    ASSERT_EQ(got.size(), expected->size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].key, (*expected)[i].key);
      EXPECT_EQ(got[i].value, (*expected)[i].value);
    }
  }
  // Truncated or garbage bytes are refused, not misread.
  std::string cut = whole.substr(0, whole.size() - 3);
  SnapshotRowReader truncated(
      [&](uint64_t off, uint64_t n) { return Result<std::string>(cut.substr(off, n)); },
      cut.size());
  Status failed;
  while (true) {
    auto b = truncated.next(1 << 20);
    if (!b.ok()) {
      failed = b.error();
      break;
    }
    if (b->empty()) break;
  }
  EXPECT_FALSE(failed.ok());
  std::string junk = "NOTASNAPSHOT";
  SnapshotRowReader bad(
      [&](uint64_t off, uint64_t n) { return Result<std::string>(junk.substr(off, n)); },
      junk.size());
  EXPECT_FALSE(bad.next(100).ok());
}

}  // namespace
}  // namespace cairn::registry
