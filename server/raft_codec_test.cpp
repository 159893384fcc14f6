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
  auto h = decodeFrame(body(encodeFrame(PeerHello{7, "127.0.0.1:8300", "c1", "n", {}, 0, false})));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(std::get<PeerHello>(*h).raftId, 7u);
  PeerHello full{9, "10.0.0.9:8300", "c1", "n9", {{3, "10.0.0.3:8300", "n3"}}, 42, true};
  auto f2 = decodeFrame(body(encodeFrame(full)));
  ASSERT_TRUE(f2.ok());
  const auto& d2 = std::get<PeerHello>(*f2);
  EXPECT_EQ(d2.known, full.known);
  EXPECT_EQ(d2.incarnation, 42u);
  EXPECT_TRUE(d2.leaving);
  EXPECT_EQ(d2.commandVersion, 1u);  // a hello that does not say: version 1
  full.commandVersion = 2;
  auto f3 = decodeFrame(body(encodeFrame(full)));
  ASSERT_TRUE(f3.ok());
  EXPECT_EQ(std::get<PeerHello>(*f3).commandVersion, 2u);
}

// A peer speaking a newer wire version is refused with a clear reason (the
// connection is closed; a rolling upgrade keeps the old version until all
// servers run the new binary).
TEST(RaftCodec, RefusesNewerWireVersion) {
  std::string b = body(encodeFrame(PeerHello{7, "127.0.0.1:8300", "c1", "n", {}, 0, false}));
  b += std::string("\x08\x63", 2);  // Frame.version = 99
  auto f = decodeFrame(b);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("newer than this server"), std::string::npos)
      << f.error().message;
}

TEST(RaftCodec, LoadReportsRoundTripAndAreValidated) {
  LoadReports l{3, {{"n1", "web-1", 2.5, 1000}, {"n2", "web-2", 0, 0}}};
  auto f = decodeFrame(body(encodeFrame(l)));
  ASSERT_TRUE(f.ok());
  const auto& d = std::get<LoadReports>(*f);
  EXPECT_EQ(d.from, 3u);
  ASSERT_EQ(d.reports.size(), 2u);
  EXPECT_EQ(d.reports[0].serviceId, "web-1");
  EXPECT_EQ(d.reports[0].load, 2.5);
  EXPECT_EQ(d.reports[0].ttlMs, 1000u);
  l.reports[1].load = -1;
  EXPECT_FALSE(decodeFrame(body(encodeFrame(l))).ok());
  l.reports[1].load = 1;
  l.from = 0;
  EXPECT_FALSE(decodeFrame(body(encodeFrame(l))).ok());
}

TEST(RaftCodec, TtlReportsRoundTripAndAreValidated) {
  TtlReports t{5, {{"n1", "web-ttl", registry::HealthStatus::kWarning, "slow"}}};
  auto f = decodeFrame(body(encodeFrame(t)));
  ASSERT_TRUE(f.ok()) << f.error().message;
  const auto& d = std::get<TtlReports>(*f);
  EXPECT_EQ(d.from, 5u);
  ASSERT_EQ(d.reports.size(), 1u);
  EXPECT_EQ(d.reports[0].node, "n1");
  EXPECT_EQ(d.reports[0].checkId, "web-ttl");
  EXPECT_EQ(d.reports[0].status, registry::HealthStatus::kWarning);
  EXPECT_EQ(d.reports[0].output, "slow");
  t.reports[0].status = static_cast<registry::HealthStatus>(7);
  EXPECT_FALSE(decodeFrame(body(encodeFrame(t))).ok());
  t.reports[0].status = registry::HealthStatus::kPassing;
  t.reports[0].output.assign(kMaxTtlOutputBytes + 1, 'x');
  EXPECT_FALSE(decodeFrame(body(encodeFrame(t))).ok());
  t.reports[0].output.clear();
  t.reports[0].checkId.clear();
  EXPECT_FALSE(decodeFrame(body(encodeFrame(t))).ok());
  t.reports[0].checkId = "c";
  t.from = 0;
  EXPECT_FALSE(decodeFrame(body(encodeFrame(t))).ok());
}

// A frame whose body this version does not know (a newer peer's) is
// skipped, not taken as garbage: the connection stays up.
TEST(RaftCodec, UnknownBodyIsSkipped) {
  auto f = decodeFrame(body(encodeFrame(UnknownFrame{})));
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(std::holds_alternative<UnknownFrame>(*f));
}

TEST(RaftCodec, RefusesHelloListingBadServers) {
  PeerHello h{9, "10.0.0.9:8300", "c1", "n9", {{0, "10.0.0.3:8300", "n3"}}, 1, false};
  EXPECT_FALSE(decodeFrame(body(encodeFrame(h))).ok());
  h.known.assign(kMaxKnownPeers + 1, {3, "10.0.0.3:8300", "n3"});
  EXPECT_FALSE(decodeFrame(body(encodeFrame(h))).ok());
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
  EXPECT_FALSE(decodeFrame(body(encodeFrame(PeerHello{0, "x:1", "", "", {}, 0, false}))).ok());
}

TEST(RaftCodec, SnapshotResponsesNameAnOffsetWithoutASize) {
  // The receiver of a multi-chunk snapshot asks for the next chunk by offset.
  raft::Message r;
  r.type = raft::MsgType::kSnapResp;
  r.from = 2;
  r.to = 1;
  r.index = 100;
  r.snapOffset = 1 << 20;
  auto f = decodeFrame(body(encodeFrame(r)));
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(std::get<raft::Message>(*f).snapOffset, 1u << 20);
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
