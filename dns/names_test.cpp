#include "dns/names.hpp"

#include <gtest/gtest.h>

#include "dns/test_util.hpp"

namespace cairn::dns {
namespace {

NameMatch classify(const Zone& z, const std::string& name) {
  auto p = testing::makeQuery(name, type::kA);
  Query q;
  EXPECT_EQ(parseQuery(p, q), ParseStatus::kOk);
  NameMatch m;
  z.classify(q, m);
  return m;
}

Zone zone(ZoneConfig c = {}) {
  return std::move(Zone::create(c).value());
}

TEST(NamesTest, ServiceForms) {
  Zone z = zone();
  auto m = classify(z, "web.service.cairn.");
  EXPECT_EQ(m.kind, NameKind::kService);
  EXPECT_EQ(m.service, "web");
  EXPECT_EQ(m.tag, "");
  EXPECT_EQ(m.domain, 0);
  m = classify(z, "V1.Web.Service.DC1.Consul");
  EXPECT_EQ(m.kind, NameKind::kService);
  EXPECT_EQ(m.service, "web");
  EXPECT_EQ(m.tag, "v1");
  EXPECT_EQ(m.domain, 1);
  m = classify(z, "_web._tcp.service.cairn");
  EXPECT_EQ(m.kind, NameKind::kService);
  EXPECT_EQ(m.service, "web");
  EXPECT_EQ(m.tag, "");
  m = classify(z, "_web._v2.service.dc1.cairn");
  EXPECT_EQ(m.service, "web");
  EXPECT_EQ(m.tag, "v2");
  EXPECT_EQ(classify(z, "_web._udp.service.cairn").tag, "");
}

TEST(NamesTest, NodeAddrApexAndEmpty) {
  Zone z = zone();
  auto m = classify(z, "Node-1.node.cairn");
  EXPECT_EQ(m.kind, NameKind::kNode);
  EXPECT_EQ(m.nodeName(), "node-1");
  m = classify(z, "a.b.node.dc1.consul");
  EXPECT_EQ(m.kind, NameKind::kNode);
  EXPECT_EQ(m.nodeName(), "a.b");
  m = classify(z, "7f000001.addr.cairn");
  ASSERT_EQ(m.kind, NameKind::kAddr);
  EXPECT_EQ(m.addrLen, 4);
  EXPECT_EQ(m.addr[0], 0x7f);
  EXPECT_EQ(m.addr[3], 1);
  m = classify(z, "20010db8000000000000000000000001.addr.dc1.cairn");
  ASSERT_EQ(m.kind, NameKind::kAddr);
  EXPECT_EQ(m.addrLen, 16);
  EXPECT_EQ(m.addr[0], 0x20);
  EXPECT_EQ(m.addr[15], 1);
  EXPECT_EQ(classify(z, "7f00001.addr.cairn").kind, NameKind::kNxDomain);
  EXPECT_EQ(classify(z, "zz000001.addr.cairn").kind, NameKind::kNxDomain);
  EXPECT_EQ(classify(z, "cairn").kind, NameKind::kApex);
  EXPECT_EQ(classify(z, "CONSUL.").kind, NameKind::kApex);
  EXPECT_EQ(classify(z, "service.cairn").kind, NameKind::kEmpty);
  EXPECT_EQ(classify(z, "dc1.cairn").kind, NameKind::kEmpty);
  EXPECT_EQ(classify(z, "node.dc1.cairn").kind, NameKind::kEmpty);
}

TEST(NamesTest, NxDomainAndOutside) {
  Zone z = zone();
  EXPECT_EQ(classify(z, "web.service.dc2.cairn").kind, NameKind::kNxDomain);
  EXPECT_EQ(classify(z, "a.b.web.service.cairn").kind, NameKind::kNxDomain);
  EXPECT_EQ(classify(z, "foo.cairn").kind, NameKind::kNxDomain);
  EXPECT_EQ(classify(z, "www.example.com").kind, NameKind::kOutside);
  EXPECT_EQ(classify(z, "cairnx").kind, NameKind::kOutside);
  EXPECT_EQ(classify(z, "").kind, NameKind::kOutside);
}

TEST(NamesTest, AltDomainOffAndMultiLabelDomain) {
  Zone z = zone({"sd.example.org.", "", "east"});
  EXPECT_EQ(z.domainCount(), 1u);
  EXPECT_EQ(classify(z, "web.service.consul").kind, NameKind::kOutside);
  auto m = classify(z, "web.service.east.sd.example.org");
  EXPECT_EQ(m.kind, NameKind::kService);
  EXPECT_EQ(classify(z, "web.service.dc1.sd.example.org").kind, NameKind::kNxDomain);
  EXPECT_FALSE(Zone::create({"bad..name", "", "dc1"}).ok());
  EXPECT_FALSE(Zone::create({"cairn.", "", "a.b"}).ok());
}

TEST(NamesTest, ReverseNames) {
  Zone z = zone();
  auto m = classify(z, "1.0.0.127.in-addr.arpa");
  ASSERT_EQ(m.kind, NameKind::kReverse);
  EXPECT_EQ(m.addrLen, 4);
  EXPECT_EQ(m.addr[0], 127);
  EXPECT_EQ(m.addr[3], 1);
  std::string v6;
  const char* hex = "20010db8000000000000000000000001";
  for (int i = 31; i >= 0; --i) (v6 += hex[i]) += '.';
  m = classify(z, v6 + "ip6.arpa");
  ASSERT_EQ(m.kind, NameKind::kReverse);
  EXPECT_EQ(m.addr[0], 0x20);
  EXPECT_EQ(m.addr[1], 0x01);
  EXPECT_EQ(m.addr[15], 0x01);
  EXPECT_EQ(classify(z, "0.127.in-addr.arpa").kind, NameKind::kOutside);
  EXPECT_EQ(classify(z, "1.0.0.256.in-addr.arpa").kind, NameKind::kOutside);
}

}  // namespace
}  // namespace cairn::dns
