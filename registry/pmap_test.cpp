#include "registry/pmap.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace cairn::registry {
namespace {

TEST(PMap, SetFindErase) {
  PMap<int> m;
  auto m1 = m.set("b", 2).set("a", 1).set("c", 3);
  EXPECT_EQ(m1.size(), 3u);
  EXPECT_EQ(*m1.find("a"), 1);
  EXPECT_EQ(m1.find("z"), nullptr);
  auto m2 = m1.set("a", 10);
  EXPECT_EQ(*m2.find("a"), 10);
  EXPECT_EQ(*m1.find("a"), 1) << "old versions are untouched";
  auto m3 = m2.erase("b");
  EXPECT_EQ(m3.size(), 2u);
  EXPECT_EQ(m3.find("b"), nullptr);
  EXPECT_NE(m2.find("b"), nullptr);
}

TEST(PMap, MatchesStdMapUnderRandomOps) {
  std::mt19937 rng(42);
  PMap<int> p;
  std::map<std::string, int> ref;
  std::vector<PMap<int>> versions;
  std::vector<std::map<std::string, int>> refVersions;
  for (int i = 0; i < 5000; ++i) {
    std::string k = "k" + std::to_string(rng() % 300);
    if (rng() % 3 == 0) {
      p = p.erase(k);
      ref.erase(k);
    } else {
      int v = static_cast<int>(rng());
      p = p.set(k, v);
      ref[k] = v;
    }
    if (i % 500 == 0) {
      versions.push_back(p);
      refVersions.push_back(ref);
    }
  }
  versions.push_back(p);
  refVersions.push_back(ref);
  for (size_t i = 0; i < versions.size(); ++i) {
    std::map<std::string, int> got;
    versions[i].forEach([&](const std::string& k, int v) {
      got[k] = v;
      return true;
    });
    EXPECT_EQ(got, refVersions[i]) << "version " << i;
    EXPECT_EQ(versions[i].size(), refVersions[i].size());
  }
}

TEST(PMap, FromSortedBuildsAMapThatBehavesLikeOneBuiltBySets) {
  std::mt19937 rng(7);
  for (int n : {0, 1, 2, 3, 10, 1000}) {
    std::map<std::string, int> ref;
    while (ref.size() < static_cast<size_t>(n))
      ref["k" + std::to_string(rng() % 100000)] = static_cast<int>(rng());
    auto p = PMap<int>::fromSorted({ref.begin(), ref.end()});
    EXPECT_EQ(p.size(), ref.size());
    std::vector<std::pair<std::string, int>> got;
    p.forEach([&](const std::string& k, int v) {
      got.emplace_back(k, v);
      return true;
    });
    EXPECT_EQ(got, (std::vector<std::pair<std::string, int>>(ref.begin(), ref.end())));
    for (const auto& [k, v] : ref) ASSERT_EQ(*p.find(k), v);
    // Updates keep it a valid treap with the right sizes.
    for (int i = 0; i < 3000; ++i) {
      std::string k = "k" + std::to_string(rng() % 100000);
      if (rng() % 2) {
        p = p.erase(k);
        ref.erase(k);
      } else {
        p = p.set(k, i);
        ref[k] = i;
      }
      ASSERT_EQ(p.size(), ref.size());
    }
    std::map<std::string, int> after;
    p.forEach([&](const std::string& k, int v) {
      after[k] = v;
      return true;
    });
    EXPECT_EQ(after, ref) << n;
  }
}

TEST(PMap, OrderedIterationAndPrefix) {
  PMap<int> m;
  for (auto k : {"n1\0a", "n1\0b", "n2\0a", "n10\0a"}) m = m.set(k, 1);
  m = m.set(std::string("n1\0a", 4), 1)
          .set(std::string("n1\0b", 4), 2)
          .set(std::string("n2\0a", 4), 3);
  std::vector<int> seen;
  m.forEachPrefix(std::string("n1\0", 3), [&](const std::string&, int v) {
    seen.push_back(v);
    return true;
  });
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  std::vector<std::string> keys;
  m.forEachFrom("n2", [&](const std::string& k, int) {
    keys.push_back(k);
    return true;
  });
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys.front().substr(0, 2), "n2");
}

}  // namespace
}  // namespace cairn::registry
