#include "proxy/authorizer.hpp"

#include <gtest/gtest.h>

namespace cairn::proxy {
namespace {

const std::string kTd = "11111111-2222-3333-4444-555555555555.consul";
std::string uri(const std::string& svc, const std::string& td = kTd) {
  return "spiffe://" + td + "/ns/default/dc/dc1/svc/" + svc;
}

registry::Intention intention(std::string id, std::string src, std::string dst, bool allow) {
  registry::Intention i;
  i.id = std::move(id);
  i.sourceName = std::move(src);
  i.destinationName = std::move(dst);
  i.action = allow ? registry::IntentionAction::kAllow : registry::IntentionAction::kDeny;
  return i;
}

std::shared_ptr<const IntentionSet> set(std::vector<registry::Intention> is, bool defaultAllow,
                                        uint64_t index = 7) {
  auto s = std::make_shared<IntentionSet>();
  s->index = index;
  s->intentions = std::move(is);
  s->defaultAllow = defaultAllow;
  return s;
}

TEST(Authorizer, RefusesEverythingUntilIntentionsArrive) {
  Authorizer a("api");
  EXPECT_FALSE(a.ready());
  auto d = a.decide({uri("web")}, {kTd});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.source, "web");
  EXPECT_NE(d.reason.find("fail closed"), std::string::npos);
  a.update(set({}, true));
  EXPECT_TRUE(a.decide({uri("web")}, {kTd}).allowed);
}

TEST(Authorizer, DefaultDecidesWhenNothingMatches) {
  Authorizer a("api");
  a.update(set({intention("1", "db", "api", false)}, true));
  EXPECT_TRUE(a.decide({uri("web")}, {}).allowed);
  a.update(set({intention("1", "db", "api", true)}, false));
  auto d = a.decide({uri("web")}, {});
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.intentionId.empty());
  EXPECT_NE(d.reason.find("Default behavior"), std::string::npos);
}

TEST(Authorizer, ExactIntentionBeatsWildcard) {
  Authorizer a("api");
  a.update(set({intention("w", "*", "api", false), intention("e", "web", "api", true)}, true));
  auto web = a.decide({uri("web")}, {kTd});
  EXPECT_TRUE(web.allowed);
  EXPECT_EQ(web.intentionId, "e");
  auto other = a.decide({uri("other")}, {kTd});
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.intentionId, "w");
  EXPECT_EQ(other.source, "other");
}

TEST(Authorizer, DestinationWildcardBelowSourceWildcard) {
  Authorizer a("api");
  // web => * (6) loses to * => api (8).
  a.update(set({intention("a", "web", "*", true), intention("b", "*", "api", false)}, true));
  EXPECT_FALSE(a.decide({uri("web")}, {}).allowed);
  EXPECT_FALSE(a.decideSource("web").allowed);
}

TEST(Authorizer, RefusesCertificatesWithoutOneServiceId) {
  Authorizer a("api");
  a.update(set({}, true));
  EXPECT_FALSE(a.decide({}, {}).allowed);
  EXPECT_FALSE(a.decide({"https://example.com/x"}, {}).allowed);
  EXPECT_FALSE(a.decide({"spiffe://" + kTd + "/ns/default/dc/dc1/agent/web"}, {}).allowed);
  EXPECT_FALSE(a.decide({uri("web"), uri("db")}, {}).allowed);
  EXPECT_FALSE(a.decide({"spiffe://" + kTd + "/ns/other/dc/dc1/svc/web"}, {}).allowed);
  // A non-SPIFFE URI beside the ID does not matter.
  EXPECT_TRUE(a.decide({"https://example.com/x", uri("web")}, {}).allowed);
}

TEST(Authorizer, RefusesAnotherTrustDomain) {
  Authorizer a("api");
  a.update(set({}, true));
  auto d = a.decide({uri("web", "other.consul")}, {kTd});
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.reason.find("trust domain"), std::string::npos);
  // Case does not matter; any of the roots' trust domains will do.
  EXPECT_TRUE(a.decide({uri("web", "OTHER.consul")}, {kTd, "other.consul"}).allowed);
}

TEST(Authorizer, RootTrustDomain) {
  EXPECT_EQ(rootTrustDomain("spiffe://" + kTd), kTd);
  EXPECT_EQ(rootTrustDomain("SPIFFE://ABC.consul/"), "abc.consul");
  EXPECT_FALSE(rootTrustDomain(uri("web")));
  EXPECT_FALSE(rootTrustDomain("spiffe://"));
  EXPECT_FALSE(rootTrustDomain("https://abc.consul"));
}

TEST(Authorizer, DecodesTheIntentionsThatApplyToTheDestination) {
  auto r = decodeIntentionsFor(
      R"([{"ID":"1","SourceName":"web","DestinationName":"api","Action":"allow","Precedence":9},
          {"ID":"2","SourceName":"*","DestinationName":"*","Action":"deny"},
          {"ID":"3","SourceName":"web","DestinationName":"db","Action":"deny"},
          {"ID":"4","SourceName":"*","DestinationName":"api","Action":"DENY"}])",
      "api");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].id, "1");
  EXPECT_EQ((*r)[0].action, registry::IntentionAction::kAllow);
  EXPECT_EQ((*r)[1].id, "2");
  EXPECT_EQ((*r)[2].id, "4");
  EXPECT_EQ((*r)[2].action, registry::IntentionAction::kDeny);
}

TEST(Authorizer, RejectsBodiesItCannotTrust) {
  EXPECT_FALSE(decodeIntentionsFor("{}", "api").ok());
  EXPECT_FALSE(decodeIntentionsFor("[1]", "api").ok());
  EXPECT_FALSE(
      decodeIntentionsFor(R"([{"SourceName":"web","DestinationName":"api"}])", "api").ok());
  EXPECT_FALSE(decodeIntentionsFor(
                   R"([{"SourceName":"web","DestinationName":"api","Action":"maybe"}])", "api")
                   .ok());
  // Another destination's entry is skipped, whatever it says.
  EXPECT_TRUE(decodeIntentionsFor(
                  R"([{"SourceName":"web","DestinationName":"db","Action":"maybe"}])", "api")
                  .ok());
  EXPECT_TRUE(decodeIntentionsFor("[]", "api").ok());
}

TEST(Authorizer, DecodesCheck) {
  EXPECT_EQ(decodeCheckAllowed(R"({"Allowed":true})").value(), true);
  EXPECT_EQ(decodeCheckAllowed(R"({"Allowed":false})").value(), false);
  EXPECT_FALSE(decodeCheckAllowed(R"({"Allowed":"yes"})").ok());
  EXPECT_FALSE(decodeCheckAllowed("nope").ok());
}

}  // namespace
}  // namespace cairn::proxy
