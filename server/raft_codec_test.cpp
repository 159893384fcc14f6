#include "server/raft_codec.hpp"

#include <gtest/gtest.h>

namespace cairn::server {
namespace {

std::string body(const std::string& frame) {
  return frame.substr(4);
}

TEST(RaftCodec, RoundTripsMessagesAndHellos) {
  raft::Message m;
  m.type = raft::MsgType::kApp;
  m.from = 1;
  m.to = 2;
  m.term = 5;
  m.index = 9;
  m.logTerm = 4;
  m.commit = 8;
  m.entries.push_back({5, 10, raft::EntryType::kNormal, std::string("a\0b", 3)});
  m.context = "ctx";
  auto f = decodeFrame(body(encodeFrame(m)));
  ASSERT_TRUE(f.ok()) << f.error().message;
  const auto& d = std::get<raft::Message>(*f);
  EXPECT_EQ(d.type, m.type);
  EXPECT_EQ(d.entries, m.entries);
  EXPECT_EQ(d.context, "ctx");
  auto h = decodeFrame(body(encodeFrame(PeerHello{7, "127.0.0.1:8300", "c1", "n"})));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(std::get<PeerHello>(*h).raftId, 7u);
}

TEST(RaftCodec, RefusesBadFrames) {
  EXPECT_FALSE(decodeFrame("\xff\xff\xff garbage").ok());
  raft::Message local;
  local.type = raft::MsgType::kHup;
  local.from = 1;
  local.to = 2;
  EXPECT_FALSE(decodeFrame(body(encodeFrame(local))).ok()) << "local types never come from peers";
  raft::Message noSender;
  noSender.type = raft::MsgType::kApp;
  noSender.to = 2;
  EXPECT_FALSE(decodeFrame(body(encodeFrame(noSender))).ok());
  raft::Message badChunk;
  badChunk.type = raft::MsgType::kSnap;
  badChunk.from = 1;
  badChunk.to = 2;
  badChunk.snapSize = 2;
  badChunk.snapChunk = "toolong";
  EXPECT_FALSE(decodeFrame(body(encodeFrame(badChunk))).ok());
  EXPECT_FALSE(decodeFrame(body(encodeFrame(PeerHello{0, "x:1", "", ""}))).ok());
}

TEST(RaftCodec, TheLargestCommandFitsInAFrame) {
  // A command of kMaxCommandBytes, behind its 16-byte proposal id, travels as
  // the only entry of a MsgApp (or a forwarded MsgProp) with every field set
  // to its largest: the frame stays within what a receiver reads.
  raft::Message m;
  m.type = raft::MsgType::kApp;
  m.from = m.to = m.term = m.logTerm = m.index = m.commit = m.rejectHint = UINT64_MAX;
  m.reject = m.transfer = true;
  m.snapMeta = {UINT64_MAX, UINT64_MAX, {{UINT64_MAX, 1, 2, 3, 4}, {5, 6}}};
  m.context = std::string(16, 'c');
  m.entries.push_back(
      {UINT64_MAX, UINT64_MAX, raft::EntryType::kNormal, std::string(kMaxCommandBytes + 16, 'x')});
  std::string frame = encodeFrame(m);
  EXPECT_LE(frame.size() - 4, kMaxFrameBytes);
  ASSERT_TRUE(decodeFrame(body(frame)).ok());
}

}  // namespace
}  // namespace cairn::server
