// A gtest fixture for registry/ tests: a Catalog over an in-memory store,
// applying commands at increasing indexes.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"

namespace cairn::registry::testing {

class CatalogFixture : public ::testing::Test {
 protected:
  void SetUp() override { cat = std::move(Catalog::open(store).value()); }
  // Applies c at the next index and flushes (the flush must succeed);
  // returns what the apply said.
  Status applyFlush(const Command& c) {
    Status st = cat->apply(++idx, c);
    EXPECT_TRUE(cat->flush().ok());
    return st;
  }

  MemoryStore store;
  std::unique_ptr<Catalog> cat;
  uint64_t idx = 0;
};

}  // namespace cairn::registry::testing
