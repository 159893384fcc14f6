// RFC 2782 selection, the TTL cache, DNS message parsing and the JSON
// encoders: the resolver's and the writer's pure parts.
#include "client/srv.hpp"

#include <gtest/gtest.h>

#include "client/dns_message.hpp"
#include "client/encode.hpp"

namespace cairn::client {
namespace {

SrvInstance srv(std::string target, std::uint16_t priority, std::uint16_t weight) {
  SrvInstance i;
  i.target = std::move(target);
  i.priority = priority;
  i.weight = weight;
  return i;
}

std::vector<int> draw(const std::vector<SrvInstance>& set, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int> counts(set.size());
  for (int k = 0; k < n; ++k) ++counts[*selectSrv(set, rng)];
  return counts;
}

TEST(SelectSrvTest, LowestPriorityThenProportionalToWeight) {
  std::vector<SrvInstance> set = {srv("a", 1, 10), srv("b", 1, 30), srv("c", 1, 60),
                                  srv("backup", 2, 1000)};
  const int n = 100000;
  auto counts = draw(set, n, 42);
  EXPECT_EQ(counts[3], 0);
  // Within 4 standard deviations of n*p (sd = sqrt(n p (1-p)) <= 158).
  EXPECT_NEAR(counts[0], n * 0.1, 4 * 95);
  EXPECT_NEAR(counts[1], n * 0.3, 4 * 145);
  EXPECT_NEAR(counts[2], n * 0.6, 4 * 155);
}

TEST(SelectSrvTest, ZeroWeightsAreUniformAloneAndRareBesideWeights) {
  auto all = draw({srv("a", 1, 0), srv("b", 1, 0)}, 20000, 7);
  EXPECT_NEAR(all[0], 10000, 600);
  auto mixed = draw({srv("z", 1, 0), srv("a", 1, 9)}, 20000, 7);
  EXPECT_NEAR(mixed[0], 2000, 400);  // 1 / (9 + 1)
  std::mt19937_64 rng(1);
  EXPECT_FALSE(selectSrv({}, rng).has_value());
}

TEST(TtlCacheTest, KeepsForTheTtlAndCountsItDown) {
  using Clock = TtlCache<int>::Clock;
  TtlCache<int> cache(2);
  Clock::time_point t0{};
  cache.put("a", 33, 1, 10, t0);
  cache.put("z", 33, 9, 0, t0);  // TTL 0: not kept
  auto hit = cache.get("a", 33, t0 + std::chrono::seconds(4));
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->first, 1);
  EXPECT_EQ(hit->second, 6u);
  EXPECT_FALSE(cache.get("a", 1, t0).has_value());  // another type
  EXPECT_FALSE(cache.get("z", 33, t0).has_value());
  EXPECT_FALSE(cache.get("a", 33, t0 + std::chrono::seconds(10)).has_value());
  cache.put("a", 33, 1, 5, t0);
  cache.put("b", 33, 2, 50, t0);
  cache.put("c", 33, 3, 50, t0);  // full: "a", closest to expiring, goes
  EXPECT_FALSE(cache.get("a", 33, t0).has_value());
  EXPECT_TRUE(cache.get("b", 33, t0).has_value());
  EXPECT_EQ(cache.size(), 2u);
}

// A response to web.service.consul SRV with one SRV answer (target
// compressed) and its A record in the additional section.
std::string srvResponse() {
  std::string m = {0x12, 0x34, char(0x85), 0x00, 0, 1, 0, 1, 0, 0, 0, 1};
  std::string qname = std::string(
                          "\x03web\x07service\x06"
                          "consul",
                          19) +
                      '\0';
  m += qname + std::string("\x00\x21\x00\x01", 4);
  m += std::string("\xc0\x0c", 2) + std::string("\x00\x21\x00\x01\x00\x00\x00\x1e", 8);
  std::string target =
      std::string("\x02n1\x04node", 8) + std::string("\xc0\x18", 2);  // n1.node.consul
  std::string rdata = std::string("\x00\x01\x00\x05\x1f\x90", 6) + target;
  m += std::string{0, char(rdata.size())} + rdata;
  std::size_t targetAt = 12 + qname.size() + 4 + 2 + 8 + 2 + 6;
  m += std::string{char(0xc0), char(targetAt)} + std::string("\x00\x01\x00\x01\x00\x00\x00\x0a", 8);
  m += std::string("\x00\x04\x7f\x00\x00\x02", 6);
  return m;
}

TEST(DnsMessageTest, ParsesSrvWithCompressedNamesAndAdditionalAddress) {
  auto m = dns::parseMessage(srvResponse());
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->rcode, 0);
  ASSERT_EQ(m->answers.size(), 1u);
  const auto& s = m->answers[0];
  EXPECT_EQ(s.name, "web.service.consul");
  EXPECT_EQ(s.type, dns::kTypeSrv);
  EXPECT_EQ(s.ttl, 30u);
  EXPECT_EQ(s.priority, 1);
  EXPECT_EQ(s.weight, 5);
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.data, "n1.node.consul");
  ASSERT_EQ(m->additionals.size(), 1u);
  EXPECT_EQ(m->additionals[0].name, "n1.node.consul");
  EXPECT_EQ(m->additionals[0].data, "127.0.0.2");
  EXPECT_EQ(m->additionals[0].ttl, 10u);
}

TEST(DnsMessageTest, RefusesEveryTruncationAndForwardPointers) {
  std::string good = srvResponse();
  for (std::size_t len = 0; len < good.size(); ++len) {
    EXPECT_FALSE(dns::parseMessage(good.substr(0, len)).ok()) << "length " << len;
  }
  std::string loop = good;
  loop[12] = char(0xc0);  // the question's name points at itself
  loop[13] = 12;
  EXPECT_FALSE(dns::parseMessage(loop).ok());
  std::string query = good;
  query[2] = 0x01;  // QR clear
  EXPECT_FALSE(dns::parseMessage(query).ok());
}

TEST(DnsMessageTest, QueryNames) {
  EXPECT_EQ(dns::queryName("Web", "consul"), "web.service.consul");
  EXPECT_EQ(dns::queryName("v2.web.service.consul", "consul"), "v2.web.service.consul");
  EXPECT_EQ(dns::queryName("db.example.org.", "consul"), "db.example.org");
  EXPECT_EQ(dns::queryName("web", "cairn."), "web.service.cairn");
}

TEST(EncodeTest, ServiceRegistrationWithChecks) {
  ServiceRegistration s;
  s.name = "web";
  s.id = "web-1";
  s.port = 8080;
  s.tags = {"v2"};
  s.meta = {{"zone", "a"}};
  s.weightPassing = 5;
  CheckDefinition ttl;
  ttl.ttl = "10s";
  s.checks.push_back(ttl);
  auto body = encodeServiceRegistration(s);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, R"({"ID":"web-1","Name":"web","Port":8080,"Tags":["v2"],"Meta":{"zone":"a"},)"
                   R"("Weights":{"Passing":5,"Warning":1},"Checks":[{"TTL":"10s"}]})");
  s.checks[0].http = "http://x/";
  auto both = encodeServiceRegistration(s);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("Checks[0]"), std::string::npos);
  s.checks.clear();
  s.port = 70000;
  EXPECT_FALSE(encodeServiceRegistration(s).ok());
  EXPECT_FALSE(encodeServiceRegistration(ServiceRegistration{}).ok());
}

TEST(EncodeTest, ChecksAndUpdates) {
  CheckDefinition c;
  c.name = "db";
  c.tcp = "127.0.0.1:5432";
  EXPECT_FALSE(encodeCheckDefinition(c).ok());  // no interval
  c.interval = "5s";
  c.serviceId = "db-1";
  EXPECT_EQ(*encodeCheckDefinition(c),
            R"({"Name":"db","ServiceID":"db-1","TCP":"127.0.0.1:5432","Interval":"5s"})");
  EXPECT_EQ(*encodeCheckUpdate("warning", "slow \"disk\""),
            R"({"Status":"warning","Output":"slow \"disk\""})");
  EXPECT_FALSE(encodeCheckUpdate("pass", "").ok());
}

}  // namespace
}  // namespace cairn::client
