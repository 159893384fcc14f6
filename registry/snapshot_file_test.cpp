#include "registry/snapshot_file.hpp"

#include <gtest/gtest.h>

#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"
#include "registry/snapshot.hpp"

namespace cairn::registry {
namespace {

// A small catalog: 3 nodes, 6 instances, a check on each and a node check.
ViewPtr sampleView(testing::MemoryStore& store) {
  auto cat = std::move(Catalog::open(store).value());
  uint64_t idx = 0;
  for (int i = 0; i < 6; ++i) {
    RegisterCommand r;
    r.node.name = "n" + std::to_string(i % 3);
    r.node.address = "10.0.0." + std::to_string(i % 3);
    Service s;
    s.name = i % 2 ? "web" : "db";
    s.id = s.name + std::to_string(i);
    s.port = 8000 + i;
    s.tags = {"v1"};
    r.service = s;
    Check c;
    c.checkId = "c" + std::to_string(i);
    c.serviceId = s.id;
    c.status = HealthStatus::kPassing;
    r.checks.push_back(c);
    Check nc;
    nc.checkId = "node-alive";
    r.checks.push_back(nc);
    EXPECT_TRUE(cat->apply(++idx, r).ok());
  }
  EXPECT_TRUE(cat->flush().ok());
  return cat->view();
}

void putBig(std::string& file, size_t offset, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, ++offset) file[offset] = static_cast<char>(v >> (8 * i));
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  testing::MemoryStore store;
  ViewPtr view = sampleView(store);
  std::string file = writeSnapshotFile(*view);
};

TEST_F(SnapshotFileTest, RoundTripsTheRowsAndIndex) {
  auto f = openSnapshotFile(file);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->version, kSnapshotFileVersion);
  EXPECT_EQ(f->index, view->index);
  EXPECT_EQ(file.size(), kSnapshotHeaderBytes + f->payload.size());
  auto summary = verifySnapshotFile(file);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->index, view->index);
  EXPECT_EQ(summary->fileBytes, file.size());
  EXPECT_EQ(summary->nodes, 3u);
  EXPECT_EQ(summary->services, 6u);
  EXPECT_EQ(summary->checks, 9u);  // one per instance, one per node
  auto rows = readSnapshotPayload(f->payload);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  auto want = parseSnapshot(serializeView(*view));
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(rows->size(), want->size());
  for (size_t i = 0; i < rows->size(); ++i) {
    EXPECT_EQ((*rows)[i].table, (*want)[i].table);
    EXPECT_EQ((*rows)[i].key, (*want)[i].key);
    EXPECT_EQ((*rows)[i].value, (*want)[i].value);
  }
}

TEST_F(SnapshotFileTest, EveryFlippedByteIsRefused) {
  // Any single changed byte, header or payload, fails the open: magic,
  // version, encoding and lengths by their own checks, everything by the
  // checksum.
  for (size_t i = 0; i < file.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80}) {
      std::string bad = file;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto f = openSnapshotFile(bad);
      ASSERT_FALSE(f.ok()) << "byte " << i << " mask " << int(mask);
      EXPECT_EQ(f.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

TEST_F(SnapshotFileTest, TruncatedOrExtendedFilesAreRefused) {
  for (size_t n = 0; n < file.size(); ++n) {
    auto f = openSnapshotFile(std::string_view(file).substr(0, n));
    ASSERT_FALSE(f.ok()) << "length " << n;
  }
  auto f = openSnapshotFile(std::string_view(file).substr(0, file.size() - 1));
  EXPECT_NE(f.error().message.find("truncated"), std::string::npos) << f.error().message;
  f = openSnapshotFile(file + "x");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("trailing"), std::string::npos) << f.error().message;
}

TEST_F(SnapshotFileTest, GarbageIsNotASnapshot) {
  for (const std::string& garbage :
       {std::string(), std::string("garbage"), std::string(1000, '\0'), std::string("{}")}) {
    auto f = openSnapshotFile(garbage);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message.find("not a Cairn snapshot"), std::string::npos);
  }
}

TEST_F(SnapshotFileTest, NewerFormatVersionIsRefusedWithAClearError) {
  // A newer version is refused by its number, whatever follows the header:
  // even a file whose checksum is right for it.
  std::string newer = file;
  putBig(newer, 8, kSnapshotFileVersion + 1, 4);
  auto f = openSnapshotFile(newer);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("format version 2 is newer than this binary understands"),
            std::string::npos)
      << f.error().message;
  // Short files of a newer version say so too, rather than "truncated".
  f = openSnapshotFile(std::string_view(newer).substr(0, 12));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("newer"), std::string::npos) << f.error().message;
}

TEST_F(SnapshotFileTest, PayloadChecksNameTheProblem) {
  auto not_zstd = readSnapshotPayload("hello");
  ASSERT_FALSE(not_zstd.ok());
  EXPECT_NE(not_zstd.error().message.find("zstd"), std::string::npos);
  // A zstd frame header that announces 1 TiB: refused before any allocation.
  std::string bomb("\x28\xB5\x2F\xFD\xE0", 5);
  for (int i = 0; i < 8; ++i) bomb.push_back(static_cast<char>(((uint64_t{1} << 40) >> (8 * i))));
  auto big = readSnapshotPayload(bomb);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("more than the limit"), std::string::npos)
      << big.error().message;
  // A valid file of an empty catalog still holds its table index rows.
  View empty;
  empty.index = 7;
  std::string f = writeSnapshotFile(empty);
  auto opened = openSnapshotFile(f);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->index, 7u);
  auto rows = readSnapshotPayload(opened->payload);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);
}

}  // namespace
}  // namespace cairn::registry
