#include "server/send_queue.hpp"

#include <gtest/gtest.h>

namespace cairn::server {
namespace {

using std::chrono::milliseconds;
using Clock = SendQueue::Clock;

const Clock::time_point t0{};

TEST(SendQueueTest, TakesFramesInOrderInBatchesUnderTheByteLimit) {
  SendQueue q({});
  q.push("aaaa", t0);
  q.push("bbbb", t0);
  q.push("cc", t0);
  EXPECT_EQ(q.bytes(), 10u);
  EXPECT_EQ(q.takeBatch(8, t0), "aaaabbbb");
  EXPECT_EQ(q.takeBatch(8, t0), "cc");
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
  EXPECT_EQ(q.takeBatch(8, t0), "");
  EXPECT_EQ(q.dropped(), 0u);
}

TEST(SendQueueTest, AFrameLargerThanTheBatchStillGoesAlone) {
  SendQueue q({});
  q.push(std::string(100, 'x'), t0);
  q.push("y", t0);
  EXPECT_EQ(q.takeBatch(10, t0).size(), 100u);
  EXPECT_EQ(q.takeBatch(10, t0), "y");
}

TEST(SendQueueTest, OverflowingTheCountDropsTheOldest) {
  SendQueue q({3, 1 << 20, milliseconds(1000)});
  for (const char* f : {"1", "2", "3", "4", "5"}) q.push(f, t0);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.takeBatch(100, t0), "345");
}

TEST(SendQueueTest, OverflowingTheBytesDropsTheOldestButKeepsTheNewest) {
  SendQueue q({100, 10, milliseconds(1000)});
  q.push("aaaa", t0);
  q.push("bbbb", t0);
  q.push("cccc", t0);  // 12 bytes: "aaaa" goes
  EXPECT_EQ(q.bytes(), 8u);
  EXPECT_EQ(q.dropped(), 1u);
  q.push(std::string(50, 'z'), t0);  // larger than the limit alone: kept, alone
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.bytes(), 50u);
  EXPECT_EQ(q.dropped(), 3u);
}

// A peer that stops reading (stopped, or behind a partition) gets, when it
// comes back, only what was queued in the last maxAge: old heartbeats and
// appends are dropped, and the queue does not grow with the outage.
TEST(SendQueueTest, FramesOlderThanMaxAgeAreDroppedNotSent) {
  SendQueue q({4096, 1 << 20, milliseconds(2000)});
  for (int i = 0; i < 100; ++i) q.push("h" + std::to_string(i) + ";", t0 + milliseconds(100 * i));
  // Pushing at 9.9 s left only the frames of the last 2 s (7.9 s .. 9.9 s).
  EXPECT_EQ(q.size(), 21u);
  EXPECT_EQ(q.dropped(), 79u);
  // Taken later still: what aged meanwhile is dropped too.
  std::string batch = q.takeBatch(1 << 20, t0 + milliseconds(11'000));
  EXPECT_EQ(batch, "h90;h91;h92;h93;h94;h95;h96;h97;h98;h99;");
  EXPECT_EQ(q.dropped(), 90u);
  EXPECT_EQ(q.bytes(), 0u);
}

TEST(SendQueueTest, AFrameExactlyMaxAgeOldIsStillSent) {
  SendQueue q({4096, 1 << 20, milliseconds(2000)});
  q.push("a", t0);
  EXPECT_EQ(q.takeBatch(10, t0 + milliseconds(2000)), "a");
  q.push("b", t0);
  EXPECT_EQ(q.takeBatch(10, t0 + milliseconds(2001)), "");
  EXPECT_EQ(q.dropped(), 1u);
}

}  // namespace
}  // namespace cairn::server
