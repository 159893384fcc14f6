#include "dns/responder.hpp"

#include <gtest/gtest.h>

#include <map>

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
      r = std::make_unique<Responder>(cfg, *zone, cat.hub(), &loads, 42, &counters);
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
  ThreadCounters counters;
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

// Registers node (addr, meta) with an instance id of service `name`.
void metaInstance(testing::TestCatalog& cat, const std::string& node, const std::string& addr,
                  std::map<std::string, std::string> meta, const std::string& name,
                  const std::string& id, int port, const std::string& svcAddr = "") {
  registry::RegisterCommand rc;
  rc.node.name = node;
  rc.node.address = addr;
  rc.node.meta = std::move(meta);
  registry::Service s;
  s.name = name;
  s.id = id;
  s.port = port;
  s.address = svcAddr;
  rc.service = s;
  cat.apply(rc);
}

TEST_F(ResponderTest, SrvAdditionalHasNodeMetaTxtAfterTheAddress) {
  metaInstance(cat, "m1", "10.1.1.1", {{"rack", "r7"}, {"zone", "a"}}, "meta", "meta-1", 80);
  auto p = ask("meta.service.cairn", type::kSrv);
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(p.tc);
  EXPECT_EQ(p.answer,
            (std::vector<std::string>{"meta.service.cairn. 0 IN SRV 1 1 80 m1.node.dc1.cairn."}));
  EXPECT_EQ(p.additional, (std::vector<std::string>{"m1.node.dc1.cairn. 0 IN A 10.1.1.1",
                                                    "m1.node.dc1.cairn. 0 IN TXT \"rack=r7\"",
                                                    "m1.node.dc1.cairn. 0 IN TXT \"zone=a\""}));
  // The alt domain names the node in it; the TTL is the service's.
  opts.serviceTtl = "9s";
  r.reset();
  p = ask("meta.service.consul", type::kSrv);
  EXPECT_EQ(p.additional, (std::vector<std::string>{"m1.node.dc1.consul. 9 IN A 10.1.1.1",
                                                    "m1.node.dc1.consul. 9 IN TXT \"rack=r7\"",
                                                    "m1.node.dc1.consul. 9 IN TXT \"zone=a\""}));
  // Not for A queries, and not when turned off.
  EXPECT_TRUE(ask("meta.service.cairn", type::kA).additional.empty());
  opts.nodeMetaTxt = false;
  r.reset();
  p = ask("meta.service.cairn", type::kSrv);
  EXPECT_EQ(p.additional, (std::vector<std::string>{"m1.node.dc1.cairn. 9 IN A 10.1.1.1"}));
}

TEST_F(ResponderTest, NodeMetaTxtOncePerNodeAndUnderTheNodeNameForOwnAddresses) {
  std::map<std::string, std::string> meta = {{"rack", "r7"}};
  metaInstance(cat, "m1", "10.1.1.1", meta, "two", "two-a", 80);
  metaInstance(cat, "m1", "10.1.1.1", meta, "two", "two-b", 81);
  metaInstance(cat, "m1", "10.1.1.1", meta, "own", "own-1", 82, "10.1.1.50");
  cat.instance("n1", "10.0.0.1", "two", "two-c", 83);  // a node without meta
  auto p = ask("two.service.cairn", type::kSrv);
  EXPECT_EQ(p.answer.size(), 3u);
  std::sort(p.additional.begin(), p.additional.end());
  EXPECT_EQ(p.additional, (std::vector<std::string>{"m1.node.dc1.cairn. 0 IN A 10.1.1.1",
                                                    "m1.node.dc1.cairn. 0 IN TXT \"rack=r7\"",
                                                    "n1.node.dc1.cairn. 0 IN A 10.0.0.1"}));
  // As Consul: the TXT is owned by the node's name even when the SRV target
  // is an addr name.
  p = ask("own.service.cairn", type::kSrv);
  EXPECT_EQ(p.additional, (std::vector<std::string>{"0a010132.addr.dc1.cairn. 0 IN A 10.1.1.50",
                                                    "m1.node.dc1.cairn. 0 IN TXT \"rack=r7\""}));
}

TEST_F(ResponderTest, NodeMetaTxtOnlyFillsRoomLeftAndNeverSetsTc) {
  std::string big(200, 'x');
  metaInstance(cat, "s1", "10.1.2.1", {{"k", big}}, "sz", "sz-1", 1);
  metaInstance(cat, "s2", "10.1.2.2", {{"k", big}}, "sz", "sz-2", 2);
  // 512 bytes hold both SRV and A pairs and one 213-byte TXT, not two.
  auto p = ask("sz.service.cairn", type::kSrv);
  EXPECT_FALSE(p.tc);
  EXPECT_EQ(p.answer.size(), 2u);
  EXPECT_EQ(p.additional.size(), 3u);
  EXPECT_EQ(std::count_if(p.additional.begin(), p.additional.end(),
                          [](const std::string& l) { return l.find(" IN TXT ") != l.npos; }),
            1);
  EXPECT_LE(lastLen, 512u);
  // With room for all (EDNS, TCP), all come.
  EXPECT_EQ(ask("sz.service.cairn", type::kSrv, 1232).additional.size(), 4u);
  EXPECT_EQ(ask("sz.service.cairn", type::kSrv, 0, true).additional.size(), 4u);
  // TXT never takes the room a later target's glue needs: r1's two records
  // (380 bytes) fit in what is left after both glue records only if r2's
  // glue is not reserved (whichever order the two come in).
  metaInstance(cat, "r1", "10.1.2.4", {{"a", std::string(198, 'x')}, {"b", std::string(152, 'y')}},
               "rs", "rs-1", 1);
  cat.instance("r2", "10.1.2.5", "rs", "rs-2", 2);
  for (int i = 0; i < 20; ++i) {
    p = ask("rs.service.cairn", type::kSrv);
    EXPECT_FALSE(p.tc);
    std::sort(p.additional.begin(), p.additional.end());
    EXPECT_EQ(p.additional, (std::vector<std::string>{"r1.node.dc1.cairn. 0 IN A 10.1.2.4",
                                                      "r2.node.dc1.cairn. 0 IN A 10.1.2.5"}));
  }
  EXPECT_EQ(ask("rs.service.cairn", type::kSrv, 0, true).additional.size(), 4u);
  // A node whose TXT would not fit at all gets none; the answer is whole.
  metaInstance(cat, "s3", "10.1.2.3", {{"a", big}, {"b", big}, {"c", big}}, "huge", "huge-1", 1);
  p = ask("huge.service.cairn", type::kSrv);
  EXPECT_FALSE(p.tc);
  EXPECT_EQ(p.answer.size(), 1u);
  EXPECT_EQ(p.additional, (std::vector<std::string>{"s3.node.dc1.cairn. 0 IN A 10.1.2.3"}));
}

TEST_F(ResponderTest, TruncatedSrvAnswersCarryNoTxt) {
  for (int i = 0; i < 60; ++i) {
    std::string n = "t-" + std::to_string(i), a = "10.2.9." + std::to_string(i + 1);
    metaInstance(cat, n, a, {{"rack", "r1"}}, "tt", n, 1);
  }
  auto p = ask("tt.service.cairn", type::kSrv);
  EXPECT_TRUE(p.tc);
  EXPECT_EQ(p.additional.size(), p.answer.size());  // the glue only
  p = ask("tt.service.cairn", type::kSrv, 0, true);
  EXPECT_EQ(p.answer.size(), 60u);
  EXPECT_EQ(p.additional.size(), 120u);
}

TEST_F(ResponderTest, MetaTxtEscapesAsRfc1464) {
  auto txt = [](std::string_view k, std::string_view v) {
    char buf[255];
    return std::string(buf, metaTxt(k, v, buf));
  };
  EXPECT_EQ(txt("rack", "r7"), "rack=r7");
  EXPECT_EQ(txt("a=b", "c`d=e"), "a`=b=c``d=e");
  EXPECT_EQ(txt(" k ", "v"), "` k` =v");
  EXPECT_EQ(txt("RFC1035-spf", "v=spf1 -all"), "v=spf1 -all");
  EXPECT_EQ(txt("k", std::string(300, 'v')).size(), 255u);
  // The node lookup uses the same encoding.
  metaInstance(cat, "e1", "10.1.3.1", {{"a=b", "c"}}, "e", "e-1", 1);
  EXPECT_EQ(ask("e1.node.cairn", type::kTxt).answer,
            (std::vector<std::string>{"e1.node.cairn. 0 IN TXT \"a`=b=c\""}));
}

// Consul's makeNodeServiceRecords/makeRecordFromFQDN (agent/dns.go): a host
// name is the SRV target as is, and an address query gets a CNAME to it,
// but only when no instance has an address of the asked type.
TEST_F(ResponderTest, HostNameAddressesGiveCnameAndSrvTarget) {
  cat.instance("n1", "10.0.0.1", "ext", "ext-1", 443, {}, {}, "DB.Example.com");
  auto p = ask("ext.service.cairn", type::kA);
  EXPECT_EQ(p.rcode, 0);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"ext.service.cairn. 0 IN CNAME db.example.com."}));
  EXPECT_TRUE(p.additional.empty());
  EXPECT_EQ(ask("ext.service.cairn", type::kAaaa).answer, p.answer);
  EXPECT_EQ(ask("ext.service.cairn", type::kAny).answer, p.answer);
  p = ask("ext.service.cairn", type::kSrv);
  EXPECT_EQ(p.answer,
            (std::vector<std::string>{"ext.service.cairn. 0 IN SRV 1 1 443 db.example.com."}));
  EXPECT_TRUE(p.additional.empty());
  EXPECT_EQ(ask("ext.service.cairn", type::kTxt).answer.size(), 0u);  // NODATA
  // Addresses of the asked type win over host names.
  cat.instance("n2", "10.0.0.2", "ext", "ext-2", 443);
  p = ask("ext.service.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"ext.service.cairn. 0 IN A 10.0.0.2"}));
  p = ask("ext.service.cairn", type::kAaaa);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"ext.service.cairn. 0 IN CNAME db.example.com."}));
  p = ask("ext.service.cairn", type::kSrv);
  std::sort(p.answer.begin(), p.answer.end());
  EXPECT_EQ(p.answer,
            (std::vector<std::string>{"ext.service.cairn. 0 IN SRV 1 1 443 db.example.com.",
                                      "ext.service.cairn. 0 IN SRV 1 1 443 n2.node.dc1.cairn."}));
  EXPECT_EQ(p.additional, (std::vector<std::string>{"n2.node.dc1.cairn. 0 IN A 10.0.0.2"}));
}

TEST_F(ResponderTest, HostNameNodeAddress) {
  metaInstance(cat, "h1", "h1.example.net", {{"k", "v"}}, "hs", "hs-1", 9);
  auto p = ask("hs.service.cairn", type::kSrv);
  EXPECT_EQ(p.answer,
            (std::vector<std::string>{"hs.service.cairn. 0 IN SRV 1 1 9 h1.example.net."}));
  EXPECT_EQ(p.additional, (std::vector<std::string>{"h1.node.dc1.cairn. 0 IN TXT \"k=v\""}));
  p = ask("hs.service.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"hs.service.cairn. 0 IN CNAME h1.example.net."}));
  p = ask("h1.node.cairn", type::kA);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"h1.node.cairn. 0 IN CNAME h1.example.net."}));
  p = ask("h1.node.cairn", type::kTxt);
  EXPECT_EQ(p.answer, (std::vector<std::string>{"h1.node.cairn. 0 IN TXT \"k=v\""}));
}

TEST_F(ResponderTest, CountersFollowEachAnswer) {
  ask("web.service.cairn", type::kA);
  ask("nope.service.cairn", type::kSrv, 0, true);
  ask("web.service.cairn", type::kA, 1232);
  auto f = makeQuery("web.service.cairn", type::kA);
  put16(f.data() + 4, 2);
  send(f);                              // FORMERR
  send(std::vector<uint8_t>(5, 0xff));  // dropped
  auto b = makeQuery("web.service.cairn", type::kA, 1232);
  b[b.size() - 5] = 1;
  send(b);  // BADVERS
  EXPECT_EQ(counters.queries[0].get(), 5u);
  EXPECT_EQ(counters.queries[1].get(), 1u);
  EXPECT_EQ(counters.qtypes[qtypeSlot(type::kA)].get(), 3u);  // the FORMERR one had none
  EXPECT_EQ(counters.qtypes[qtypeSlot(type::kSrv)].get(), 1u);
  EXPECT_EQ(counters.rcodes[rcodeSlot(rcode::kNoError)].get(), 2u);
  EXPECT_EQ(counters.rcodes[rcodeSlot(rcode::kNxDomain)].get(), 1u);
  EXPECT_EQ(counters.rcodes[rcodeSlot(rcode::kFormErr)].get(), 1u);
  EXPECT_EQ(counters.rcodes[rcodeSlot(rcode::kBadVers)].get(), 1u);
  EXPECT_EQ(counters.dropped.get(), 1u);
  EXPECT_EQ(counters.malformed.get(), 2u);
  EXPECT_EQ(counters.truncated.get(), 0u);
  for (int i = 0; i < 100; ++i)
    cat.instance("c-" + std::to_string(i), "10.3.1." + std::to_string(i + 1), "many",
                 "c-" + std::to_string(i), 1);
  EXPECT_TRUE(ask("many.service.cairn", type::kSrv).tc);
  EXPECT_EQ(counters.truncated.get(), 1u);
  EXPECT_EQ(counters.forwarded.get(), 0u);
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
