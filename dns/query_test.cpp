#include "dns/query.hpp"

#include <gtest/gtest.h>

#include "dns/test_util.hpp"

namespace cairn::dns {
namespace {

using testing::makeQuery;

ParseStatus parse(const std::vector<uint8_t>& p, Query& q) {
  return parseQuery(p, q);
}

TEST(QueryTest, ParsesQuestionLowerCasedAndKeepsCase) {
  auto p = makeQuery("Web.Service.CAIRN", type::kSrv, 1232, 77);
  Query q;
  ASSERT_EQ(parse(p, q), ParseStatus::kOk);
  EXPECT_EQ(q.id, 77);
  EXPECT_TRUE(q.rd());
  EXPECT_EQ(q.qtype, type::kSrv);
  EXPECT_EQ(q.qclass, kClassIn);
  ASSERT_EQ(q.labelCount, 3);
  EXPECT_EQ(q.label(0), "web");
  EXPECT_EQ(q.label(1), "service");
  EXPECT_EQ(q.label(2), "cairn");
  EXPECT_EQ(q.name[1], 'W');
  EXPECT_EQ(q.nameLen, 19);
  EXPECT_TRUE(q.edns);
  EXPECT_EQ(q.ednsUdpSize, 1232);
}

TEST(QueryTest, ShortPacketsAndResponsesAreDropped) {
  Query q;
  std::vector<uint8_t> tiny(11, 0);
  EXPECT_EQ(parse(tiny, q), ParseStatus::kDrop);
  auto p = makeQuery("a.cairn", type::kA);
  p[2] |= 0x80;  // QR
  EXPECT_EQ(parse(p, q), ParseStatus::kDrop);
}

TEST(QueryTest, OpcodeOtherThanQueryIsNotImp) {
  auto p = makeQuery("a.cairn", type::kA);
  p[2] |= 5 << 3;  // UPDATE
  Query q;
  EXPECT_EQ(parse(p, q), ParseStatus::kNotImp);
}

TEST(QueryTest, CountsOtherThanOneQuestionAreFormErr) {
  Query q;
  auto p = makeQuery("a.cairn", type::kA);
  put16(p.data() + 4, 2);
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
  put16(p.data() + 4, 0);
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
  put16(p.data() + 4, 1);
  put16(p.data() + 6, 1);
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
}

TEST(QueryTest, TruncatedPacketsAreFormErrAtEveryLength) {
  auto full = makeQuery("web.service.cairn", type::kA, 4096);
  for (size_t n = kHeaderSize; n < full.size(); ++n) {
    std::vector<uint8_t> p(full.begin(), full.begin() + n);
    Query q;
    EXPECT_EQ(parse(p, q), ParseStatus::kFormErr) << n;
  }
}

TEST(QueryTest, BadLabelLengthsAreFormErr) {
  auto p = makeQuery("a.cairn", type::kA);
  p[kHeaderSize] = 0x40;  // extended label type
  Query q;
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
  p[kHeaderSize] = 60;  // runs past the end
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
}

TEST(QueryTest, NameOver255BytesIsFormErr) {
  std::vector<uint8_t> p(kHeaderSize, 0);
  put16(p.data() + 4, 1);
  for (int i = 0; i < 5; ++i) {
    p.push_back(63);
    p.insert(p.end(), 63, 'a');
  }
  p.push_back(0);
  p.insert(p.end(), {0, 1, 0, 1});
  Query q;
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
}

TEST(QueryTest, CompressionLoopsAndForwardPointersAreFormErr) {
  Query q;
  // Question name is a pointer to itself.
  std::vector<uint8_t> self(kHeaderSize, 0);
  put16(self.data() + 4, 1);
  self.insert(self.end(), {0xC0, 12, 0, 1, 0, 1});
  EXPECT_EQ(parse(self, q), ParseStatus::kFormErr);
  // A label then a pointer back to that label: a loop.
  std::vector<uint8_t> loop(kHeaderSize, 0);
  put16(loop.data() + 4, 1);
  loop.insert(loop.end(), {1, 'a', 0xC0, 12, 0, 1, 0, 1});
  EXPECT_EQ(parse(loop, q), ParseStatus::kFormErr);
  // A pointer forward.
  std::vector<uint8_t> fwd(kHeaderSize, 0);
  put16(fwd.data() + 4, 1);
  fwd.insert(fwd.end(), {0xC0, 20, 0, 1, 0, 1, 0, 0, 1, 'a', 0});
  EXPECT_EQ(parse(fwd, q), ParseStatus::kFormErr);
}

TEST(QueryTest, CompressedQuestionIsFormErrWithoutEcho) {
  // Pointing into the header would let a 20-byte query echo a 255-byte name.
  std::vector<uint8_t> p(kHeaderSize, 0);
  put16(p.data() + 4, 1);
  p.insert(p.end(), {1, 'a', 0xC0, 5, 0, 1, 0, 1});
  Query q;
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
  EXPECT_FALSE(q.hasQuestion);
}

TEST(QueryTest, CompressedOptOwnerLoopIsFormErr) {
  auto p = makeQuery("a.cairn", type::kA);
  put16(p.data() + 10, 1);
  size_t at = p.size();
  p.insert(p.end(), {0xC0, 0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0});
  put16(p.data() + at, static_cast<uint16_t>(0xC000 | at));  // points at itself
  Query q;
  EXPECT_EQ(parse(p, q), ParseStatus::kFormErr);
}

TEST(QueryTest, EdnsRules) {
  Query q;
  auto p = makeQuery("a.cairn", type::kA, 1400);
  p[p.size() - 5] = 1;  // version 1
  EXPECT_EQ(parse(p, q), ParseStatus::kBadVers);
  // Two OPT records.
  auto two = makeQuery("a.cairn", type::kA, 1400);
  std::vector<uint8_t> opt(two.end() - 11, two.end());
  two.insert(two.end(), opt.begin(), opt.end());
  put16(two.data() + 10, 2);
  EXPECT_EQ(parse(two, q), ParseStatus::kFormErr);
  // An option that runs past the RDATA.
  auto bad = makeQuery("a.cairn", type::kA, 1400);
  put16(bad.data() + bad.size() - 2, 4);
  bad.insert(bad.end(), {0, 10, 0, 9});
  EXPECT_EQ(parse(bad, q), ParseStatus::kFormErr);
  // DO bit.
  auto dnssec = makeQuery("a.cairn", type::kA, 1400);
  dnssec[dnssec.size() - 4] = 0x80;
  ASSERT_EQ(parse(dnssec, q), ParseStatus::kOk);
  EXPECT_TRUE(q.dnssecOk);
}

}  // namespace
}  // namespace cairn::dns
