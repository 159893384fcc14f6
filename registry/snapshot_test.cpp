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

}  // namespace
}  // namespace cairn::registry
