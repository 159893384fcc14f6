#include "dns/responder.hpp"

#include <gtest/gtest.h>

#include "dns/answer_parse_test_util.hpp"
#include "dns/test_util.hpp"

namespace cairn::dns {
namespace {

using registry::HealthStatus;
using testing::makeQuery;
using testing::Parsed;

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    opts.zone = {"cairn.", "consul.", "dc1"};
    opts.nodeName = "server1";
    cat.instance("server1", "10.0.0.9", "cairn", "cairn", 8300);
    cat.instance("n1", "10.0.0.1", "web", "web-1", 8080, {"v1", "Primary"});
    cat.instance("n2", "10.0.0.2", "web", "web-2", 8081, {"v2"});
    cat.instance("n3", "10.0.0.3", "db", "db-1", 5432, {}, {}, "2001:db8::5");
  }
  Responder& responder() {
    if (!r) {
      cfg = std::move(AnswerConfig::from(opts).value());
      zone = std::make_unique<Zone>(std::move(Zone::create(opts.zone).value()));
      r = std::make_unique<Responder>(cfg, *zone, cat.hub(), &loads, 42);
    }
    return *r;
  }
  Parsed ask(const std::string& name, uint16_t qtype, uint16_t edns = 0, bool tcp = false) {
    auto q = makeQuery(name, qtype, edns);
    return send(q, tcp);
  }
  Parsed send(const std::vector<uint8_t>& q, bool tcp = false) {
    buf.assign(kMaxMessage, 0);
    auto out = responder().respond(q, tcp, buf);
    lastAction = out.action;
    lastLen = out.len;
    if (out.action != Responder::Action::kReply) return {};
    return testing::parseAnswer({buf.data(), out.len});
  }

  testing::TestCatalog cat;
  DnsOptions opts;
  AnswerConfig cfg;
  std::unique_ptr<Zone> zone;
  LoadTable loads;
  std::unique_ptr<Responder> r;
  std::vector<uint8_t> buf;
  Responder::Action lastAction{};
  size_t lastLen = 0;
};

TEST_F(ResponderTest, ServiceA) {
  auto p = ask("web.service.cairn", type::kA);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.rcode, 0);
  EXPECT_TRUE(p.aa);
  EXPECT_TRUE(p.qr);
  EXPECT_TRUE(p.rd);
  EXPECT_FALSE(p.ra);
  EXPECT_FALSE(p.tc);
  EXPECT_EQ(p.id, 0x1234);
  std::sort(p.answer.begin(), p.answer.end());
  EXPECT_EQ(p.answer, (std::vector<std::string>{"web.service.cairn. 0 IN A 10.0.0.1",
                                                "web.service.cairn. 0 IN A 10.0.0.2"}));
  EXPECT_TRUE(p.authority.empty());
  EXPECT_TRUE(p.additional.empty());
}

TEST_F(ResponderTest, ServiceSrvWithGlueAndQuestionCaseKept) {
  auto p = ask("_Web._tcp.service.dc1.CONSUL", type::kSrv);
  ASSERT_TRUE(p.ok);
  std::sort(p.answer.begin(), p.answer.end());
  EXPECT_EQ(p.answer, (std::vector<std::string>{
                          "_Web._tcp.service.dc1.CONSUL. 0 IN SRV 1 1 8080 n1.node.dc1.consul.",
                          "_Web._tcp.service.dc1.CONSUL. 0 IN SRV 1 1 8081 n2.node.dc1.consul."}));
  std::sort(p.additional.begin(), p.additional.end());
  EXPECT_EQ(p.additional, (std::vector<std::string>{"n1.node.dc1.consul. 0 IN A 10.0.0.1",
                                                    "n2.node.dc1.consul. 0 IN A 10.0.0.2"}));
}

TEST_F(ResponderTest, TagsFilterCaseInsensitively) {
  auto p = ask("primary.web.service.cairn", type::kSrv);
  ASSERT_EQ(p.answer.size(), 1u);
  EXPECT_EQ(p.answer[0], "primary.web.service.cairn. 0 IN SRV 1 1 8080 n1.node.dc1.cairn.");
  p = ask("_web._v2.service.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"_web._v2.service.cairn. 0 IN A 10.0.0.2"}));
  p = ask("v9.web.service.cairn", type::kA);
  EXPECT_EQ(p.rcode, rcode::kNxDomain);
}

TEST_F(ResponderTest, OwnAddressGivesAddrTargetAndAaaa) {
  auto p = ask("db.service.cairn", type::kSrv);
  ASSERT_EQ(p.answer.size(), 1u);
  EXPECT_EQ(p.answer[0],
            "db.service.cairn. 0 IN SRV 1 1 5432 20010db8000000000000000000000005.addr.dc1.cairn.");
  EXPECT_EQ(p.additional,
            (std::vector<std::string>{
                "20010db8000000000000000000000005.addr.dc1.cairn. 0 IN AAAA 2001:db8::5"}));
  p = ask("db.service.cairn", type::kAaaa);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"db.service.cairn. 0 IN AAAA 2001:db8::5"}));
  // NODATA: the name exists, no A record.
  p = ask("db.service.cairn", type::kA);
  EXPECT_EQ(p.rcode, 0);
  EXPECT_TRUE(p.answer.empty());
  ASSERT_EQ(p.authority.size(), 1u);
  EXPECT_EQ(p.authority[0].substr(0, 24), "cairn. 0 IN SOA ns.cairn");
}

TEST_F(ResponderTest, NxDomainVsNoDataBothCarrySoa) {
  auto p = ask("nope.service.cairn", type::kA);
  EXPECT_EQ(p.rcode, rcode::kNxDomain);
  EXPECT_TRUE(p.aa);
  ASSERT_EQ(p.authority.size(), 1u);
  EXPECT_NE(p.authority[0].find("IN SOA ns.cairn. hostmaster.cairn. "), std::string::npos);
  EXPECT_NE(p.authority[0].find(" 3600 600 86400 0"), std::string::npos);
  p = ask("web.service.cairn", type::kTxt);
  EXPECT_EQ(p.rcode, 0);
  EXPECT_TRUE(p.answer.empty());
  EXPECT_EQ(p.authority.size(), 1u);
  p = ask("service.cairn", type::kA);
  EXPECT_EQ(p.rcode, 0);
  EXPECT_EQ(p.authority.size(), 1u);
  p = ask("x.y.cairn", type::kA);
  EXPECT_EQ(p.rcode, rcode::kNxDomain);
}

TEST_F(ResponderTest, HealthFiltering) {
  cat.check("n1", "web-1", HealthStatus::kCritical);
  auto p = ask("web.service.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"web.service.cairn. 0 IN A 10.0.0.2"}));
  cat.check("n1", "web-1", HealthStatus::kWarning);
  p = ask("web.service.cairn", type::kA);
  EXPECT_EQ(p.answer.size(), 2u);
  cat.check("n2", "web-2", HealthStatus::kCritical);
  cat.check("n1", "web-1", HealthStatus::kCritical);
  p = ask("web.service.cairn", type::kA);
  EXPECT_EQ(p.rcode, rcode::kNxDomain);
}

TEST_F(ResponderTest, OnlyPassingDropsWarning) {
  opts.onlyPassing = true;
  cat.check("n1", "web-1", HealthStatus::kWarning);
  auto p = ask("web.service.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"web.service.cairn. 0 IN A 10.0.0.2"}));
}

TEST_F(ResponderTest, WarningUsesWarningWeight) {
  cat.instance("n4", "10.0.0.4", "api", "api-1", 1, {}, {10, 3});
  cat.check("n4", "api-1", HealthStatus::kWarning);
  auto p = ask("api.service.cairn", type::kSrv);
  EXPECT_EQ(p.answer,
            (std::vector<std::string>{"api.service.cairn. 0 IN SRV 1 3 1 n4.node.dc1.cairn."}));
}

TEST_F(ResponderTest, TtlsFromConfig) {
  opts.nodeTtl = "30s";
  opts.serviceTtl = R"({"*": "5s", "we*": "7s", "db": "9s"})";
  EXPECT_EQ(ask("web.service.cairn", type::kA).answer[0].substr(0, 23), "web.service.cairn. 7 IN");
  EXPECT_EQ(ask("db.service.cairn", type::kAaaa).answer[0].substr(0, 20), "db.service.cairn. 9 ");
  EXPECT_EQ(ask("n1.node.cairn", type::kA).answer[0], "n1.node.cairn. 30 IN A 10.0.0.1");
}

TEST_F(ResponderTest, NodeAddrApexAndReverse) {
  auto p = ask("N1.node.dc1.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"N1.node.dc1.cairn. 0 IN A 10.0.0.1"}));
  EXPECT_EQ(ask("n1.node.cairn", type::kAaaa).rcode, 0);
  EXPECT_EQ(ask("zz.node.cairn", type::kA).rcode, rcode::kNxDomain);
  p = ask("0a000001.addr.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"0a000001.addr.cairn. 0 IN A 10.0.0.1"}));
  p = ask("cairn", type::kSoa);
  ASSERT_EQ(p.answer.size(), 1u);
  EXPECT_EQ(p.authority, (std::vector<std::string>{"cairn. 0 IN NS server1.node.dc1.cairn."}));
  EXPECT_EQ(p.additional, (std::vector<std::string>{"server1.node.dc1.cairn. 0 IN A 10.0.0.9"}));
  p = ask("consul", type::kNs);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"consul. 0 IN NS server1.node.dc1.consul."}));
  p = ask("2.0.0.10.in-addr.arpa", type::kPtr);
  EXPECT_EQ(p.answer,
            (std::vector<std::string>{"2.0.0.10.in-addr.arpa. 0 IN PTR n2.node.dc1.cairn."}));
  p = ask("9.9.9.10.in-addr.arpa", type::kPtr);
  EXPECT_EQ(p.rcode, rcode::kNxDomain);
}

TEST_F(ResponderTest, NodeMetaTxt) {
  registry::RegisterCommand rc;
  rc.node.name = "m1";
  rc.node.address = "10.1.1.1";
  rc.node.meta = {{"rack", "r7"}, {"zone", "a"}};
  cat.apply(rc);
  auto p = ask("m1.node.cairn", type::kTxt);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"m1.node.cairn. 0 IN TXT \"rack=r7\"",
                                                "m1.node.cairn. 0 IN TXT \"zone=a\""}));
}

TEST_F(ResponderTest, OutsideIsRefusedOrForwarded) {
  auto p = ask("www.example.com", type::kA);
  EXPECT_EQ(p.rcode, rcode::kRefused);
  EXPECT_FALSE(p.aa);
  EXPECT_EQ(p.qdcount, 1);
  opts.recursors = {"127.0.0.1:53"};
  r.reset();
  ask("www.example.com", type::kA);
  EXPECT_EQ(lastAction, Responder::Action::kForward);
  EXPECT_TRUE(ask("web.service.cairn", type::kA).ra);
}

TEST_F(ResponderTest, BadInputGetsSmallErrors) {
  auto q = makeQuery("web.service.cairn", type::kA);
  q[2] |= 2 << 3;  // STATUS opcode
  auto p = send(q);
  EXPECT_EQ(p.rcode, rcode::kNotImp);
  EXPECT_LE(lastLen, q.size());
  auto f = makeQuery("web.service.cairn", type::kA);
  put16(f.data() + 4, 2);
  p = send(f);
  EXPECT_EQ(p.rcode, rcode::kFormErr);
  EXPECT_LE(lastLen, f.size());
  auto b = makeQuery("web.service.cairn", type::kA, 1232);
  b[b.size() - 5] = 1;
  p = send(b);
  EXPECT_EQ(p.rcode, rcode::kBadVers);
  EXPECT_EQ(ask("web.service.cairn", type::kA, 0, false).rcode, 0);
  EXPECT_EQ(send(makeQuery("web.service.cairn", type::kA, 0, 1, 3)).rcode, rcode::kRefused);
  EXPECT_EQ(ask("cairn", type::kAxfr).rcode, rcode::kRefused);
  std::vector<uint8_t> junk(5, 0xff);
  send(junk);
  EXPECT_EQ(lastAction, Responder::Action::kDrop);
}

TEST_F(ResponderTest, LargeAnswersTruncateOverUdpAndFitOverTcp) {
  for (int i = 0; i < 200; ++i)
    cat.instance("big-" + std::to_string(i),
                 "10.2." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), "big",
                 "big-" + std::to_string(i), 9000 + i);
  auto p = ask("big.service.cairn", type::kSrv);
  EXPECT_TRUE(p.tc);
  EXPECT_GT(p.answer.size(), 0u);
  EXPECT_EQ(p.answer.size(), p.additional.size());  // each SRV keeps its glue
  EXPECT_LE(lastLen, 512u);
  p = ask("big.service.cairn", type::kSrv, 4096);
  EXPECT_TRUE(p.tc);
  EXPECT_LE(lastLen, 4096u);
  EXPECT_TRUE(p.edns);
  EXPECT_EQ(p.additional.size(), p.answer.size());  // ldns keeps OPT apart
  size_t udpCount = p.answer.size();
  p = ask("big.service.cairn", type::kSrv, 0, true);
  EXPECT_FALSE(p.tc);
  EXPECT_EQ(p.answer.size(), 200u);
  EXPECT_EQ(p.additional.size(), 200u);
  EXPECT_GT(200u, udpCount);
  p = ask("big.service.cairn", type::kA, 1232);
  EXPECT_TRUE(p.tc);
  EXPECT_LE(lastLen, 1232u);
  p = ask("big.service.cairn", type::kA, 0, true);
  EXPECT_EQ(p.answer.size(), 200u);
}

TEST_F(ResponderTest, AnswerLimitsTrimSilently) {
  for (int i = 0; i < 10; ++i)
    cat.instance("l-" + std::to_string(i), "10.3.0." + std::to_string(i + 1), "lim",
                 "lim-" + std::to_string(i), 1);
  opts.aRecordLimit = 3;
  opts.udpAnswerLimit = 2;
  auto p = ask("lim.service.cairn", type::kA);
  EXPECT_EQ(p.answer.size(), 2u);
  EXPECT_FALSE(p.tc);
  p = ask("lim.service.cairn", type::kA, 0, true);
  EXPECT_EQ(p.answer.size(), 3u);
  p = ask("lim.service.cairn", type::kSrv, 0, true);
  EXPECT_EQ(p.answer.size(), 10u);
}

TEST_F(ResponderTest, WeightedFirstRecordFollowsWeightsWithSeed) {
  cat.instance("w1", "10.4.0.1", "wt", "wt-1", 1, {}, {1, 1});
  cat.instance("w2", "10.4.0.2", "wt", "wt-2", 1, {}, {3, 1});
  int first2 = 0;
  const int kRuns = 4000;
  for (int i = 0; i < kRuns; ++i)
    if (ask("wt.service.cairn", type::kA).answer[0].ends_with("10.4.0.2")) ++first2;
  // Expected 3/4; 4 sigma is about 0.027.
  EXPECT_NEAR(first2 / double(kRuns), 0.75, 0.03);
}

TEST_F(ResponderTest, LeastLoadedFollowsReports) {
  opts.order = Order::kLeastLoaded;
  ASSERT_TRUE(loads.report("n1", "web-1", 5));
  ASSERT_TRUE(loads.report("n2", "web-2", 1));
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(ask("web.service.cairn", type::kA).answer[0], "web.service.cairn. 0 IN A 10.0.0.2");
  ASSERT_TRUE(loads.report("n2", "web-2", 9));
  EXPECT_EQ(ask("web.service.cairn", type::kA).answer[0], "web.service.cairn. 0 IN A 10.0.0.1");
}

TEST_F(ResponderTest, CaseInsensitiveServiceNames) {
  cat.instance("n5", "10.5.0.1", "MixedCase", "mc-1", 1);
  auto p = ask("mixedcase.service.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"mixedcase.service.cairn. 0 IN A 10.5.0.1"}));
}

TEST_F(ResponderTest, CacheFollowsNewViews) {
  EXPECT_EQ(ask("web.service.cairn", type::kA).answer.size(), 2u);
  cat.instance("n6", "10.6.0.1", "web", "web-6", 1);
  EXPECT_EQ(ask("web.service.cairn", type::kA).answer.size(), 3u);
  registry::RegisterCommand rc;  // a node address change shows too
  rc.node.name = "n6";
  rc.node.address = "10.6.0.2";
  cat.apply(rc);
  auto p = ask("web.service.cairn", type::kA);
  std::sort(p.answer.begin(), p.answer.end());
  EXPECT_EQ(p.answer.back(), "web.service.cairn. 0 IN A 10.6.0.2");
}

}  // namespace
}  // namespace cairn::dns
