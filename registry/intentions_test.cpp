#include "registry/intentions.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "registry/spiffe.hpp"

namespace cairn::registry {
namespace {

Intention ixn(std::string src, std::string dst, IntentionAction a, std::string id = "") {
  Intention i;
  i.id = id.empty() ? src + ">" + dst : id;
  i.sourceName = std::move(src);
  i.destinationName = std::move(dst);
  i.action = a;
  return i;
}

constexpr auto kAllow = IntentionAction::kAllow;
constexpr auto kDeny = IntentionAction::kDeny;

std::vector<const Intention*> ptrs(const std::vector<Intention>& v) {
  std::vector<const Intention*> out;
  for (const auto& i : v) out.push_back(&i);
  return out;
}

TEST(IntentionPrecedence, DestinationSpecificityCountsFirst) {
  EXPECT_EQ(intentionPrecedence(ixn("web", "db", kAllow)), 9);
  EXPECT_EQ(intentionPrecedence(ixn("*", "db", kAllow)), 8);
  EXPECT_EQ(intentionPrecedence(ixn("web", "*", kAllow)), 6);
  EXPECT_EQ(intentionPrecedence(ixn("*", "*", kAllow)), 5);
}

TEST(IntentionMatch, WildcardsMatchAnyNameExactOnlyItself) {
  EXPECT_TRUE(intentionMatches(ixn("web", "db", kAllow), "web", "db"));
  EXPECT_FALSE(intentionMatches(ixn("web", "db", kAllow), "web", "dbx"));
  EXPECT_FALSE(intentionMatches(ixn("web", "db", kAllow), "api", "db"));
  EXPECT_TRUE(intentionMatches(ixn("*", "db", kAllow), "anything", "db"));
  EXPECT_FALSE(intentionMatches(ixn("*", "db", kAllow), "web", "api"));
  EXPECT_TRUE(intentionMatches(ixn("web", "*", kAllow), "web", "anything"));
  EXPECT_TRUE(intentionMatches(ixn("*", "*", kAllow), "a", "b"));
}

// Every combination of the four levels: the most specific matching one wins.
TEST(IntentionDecide, MostSpecificMatchWinsAtEveryLevel) {
  std::vector<Intention> all = {ixn("*", "*", kDeny), ixn("web", "*", kAllow),
                                ixn("*", "db", kDeny), ixn("web", "db", kAllow)};
  auto p = ptrs(all);
  auto d = decideIntention(p, "web", "db", false);
  EXPECT_TRUE(d.allowed);
  ASSERT_NE(d.matched, nullptr);
  EXPECT_EQ(d.matched->id, "web>db");
  EXPECT_EQ(d.reason, "Matched L4 intention: web => db (allow)");
  // api -> db: "* -> db" (8) beats "* -> *" (5).
  d = decideIntention(p, "api", "db", true);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.matched->id, "*>db");
  // web -> cache: "web -> *" (6) beats "* -> *".
  d = decideIntention(p, "web", "cache", false);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.matched->id, "web>*");
  // api -> cache: only "* -> *".
  d = decideIntention(p, "api", "cache", true);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.matched->id, "*>*");
}

// The destination's specificity outranks the source's: "* -> db" (8) beats
// "web -> *" (6), whichever order they come in.
TEST(IntentionDecide, ExactDestinationBeatsExactSource) {
  std::vector<Intention> all = {ixn("web", "*", kAllow), ixn("*", "db", kDeny)};
  for (int round = 0; round < 2; ++round) {
    auto d = decideIntention(ptrs(all), "web", "db", true);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.matched->id, "*>db");
    std::reverse(all.begin(), all.end());
  }
}

TEST(IntentionDecide, DefaultDecidesWhenNothingMatches) {
  std::vector<Intention> all = {ixn("web", "db", kDeny)};
  auto d = decideIntention(ptrs(all), "api", "db", true);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.matched, nullptr);
  EXPECT_NE(d.reason.find("Default behavior"), std::string::npos);
  EXPECT_FALSE(decideIntention(ptrs(all), "api", "db", false).allowed);
  EXPECT_FALSE(decideIntention({}, "a", "b", false).allowed);
  EXPECT_TRUE(decideIntention({}, "a", "b", true).allowed);
}

TEST(IntentionOrder, PrecedenceThenNames) {
  std::vector<Intention> all = {ixn("*", "*", kDeny), ixn("b", "db", kAllow),
                                ixn("web", "*", kAllow), ixn("*", "db", kDeny),
                                ixn("a", "db", kAllow)};
  std::sort(all.begin(), all.end(), intentionBefore);
  std::vector<std::string> ids;
  for (const auto& i : all) ids.push_back(i.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a>db", "b>db", "*>db", "web>*", "*>*"}));
}

TEST(IntentionValidate, NamesActionsAndWildcards) {
  EXPECT_TRUE(validateIntention(ixn("web", "db", kAllow)).ok());
  EXPECT_TRUE(validateIntention(ixn("*", "*", kAllow)).ok());
  EXPECT_FALSE(validateIntention(ixn("", "db", kAllow)).ok());
  EXPECT_FALSE(validateIntention(ixn("web", "", kAllow)).ok());
  auto partial = validateIntention(ixn("web*", "db", kAllow));
  ASSERT_FALSE(partial.ok());
  EXPECT_NE(partial.error().message.find("SourceName"), std::string::npos);
  EXPECT_FALSE(validateIntention(ixn("web", "d/b", kAllow)).ok());
  Intention other = ixn("web", "db", kAllow);
  other.sourceType = "external";
  EXPECT_FALSE(validateIntention(other).ok());
  EXPECT_EQ(parseIntentionAction("ALLOW"), kAllow);
  EXPECT_EQ(parseIntentionAction("deny"), kDeny);
  EXPECT_FALSE(parseIntentionAction("maybe").has_value());
}

TEST(Spiffe, BuildsAndParsesServiceIds) {
  SpiffeServiceId id{"abc.consul", "default", "dc1", "web"};
  std::string uri = spiffeServiceUri(id);
  EXPECT_EQ(uri, "spiffe://abc.consul/ns/default/dc/dc1/svc/web");
  auto back = parseSpiffeServiceUri(uri);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->trustDomain, "abc.consul");
  EXPECT_EQ(back->datacenter, "dc1");
  EXPECT_EQ(back->service, "web");
  EXPECT_EQ(parseSpiffeServiceUri("SPIFFE://ABC.consul/ns/default/dc/dc1/svc/web")->trustDomain,
            "abc.consul");
  for (const char* bad :
       {"spiffe://abc.consul", "spiffe://abc.consul/ns/default/dc/dc1/svc/",
        "spiffe://abc.consul/ns/default/dc/dc1/agent/web", "http://abc/ns/default/dc/dc1/svc/web",
        "spiffe://abc.consul/ns/default/dc/dc1/svc/web/extra", "spiffe:///ns/default/dc/dc1/svc/w"})
    EXPECT_FALSE(parseSpiffeServiceUri(bad).has_value()) << bad;
}

}  // namespace
}  // namespace cairn::registry
