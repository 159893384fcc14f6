#include "http/url.hpp"

#include <gtest/gtest.h>

namespace cairn::http {
namespace {

TEST(Url, SplitsPathAndQuery) {
  auto t = parseTarget("/v1/health/service/my%20svc?passing&tag=a&tag=b+c&index=5");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/v1/health/service/my svc");
  ASSERT_EQ(t->query.size(), 4u);
  EXPECT_EQ(t->query[0].first, "passing");
  EXPECT_EQ(t->query[2].second, "b c");
}

TEST(Url, RefusesBadEscapesAndNul) {
  EXPECT_FALSE(parseTarget("/v1/x%2").ok());
  EXPECT_FALSE(parseTarget("/v1/x%zz").ok());
  EXPECT_FALSE(parseTarget("/v1/x%00").ok());
  EXPECT_FALSE(parseTarget("v1/x").ok());
}

}  // namespace
}  // namespace cairn::http
