#include "registry/ca_plan.hpp"

#include <gtest/gtest.h>

#include "registry/ca_certs.hpp"

namespace cairn::registry {
namespace {

constexpr char kCluster[] = "0f0e0d0c-1111-4222-8333-444455556666";

TEST(CaPlan, BootstrapMakesOneActiveRootOfTheTrustDomain) {
  auto c = planBootstrap(kCluster, 1'700'000'000);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->expectModifyIndex, 0u);
  ASSERT_EQ(c->state.roots.size(), 1u);
  const auto& r = c->state.roots[0];
  EXPECT_TRUE(r.active);
  EXPECT_EQ(c->state.trustDomain(), std::string(kCluster) + ".consul");
  auto uris = certUris(r.rootCert);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{"spiffe://" + std::string(kCluster) + ".consul"});
  EXPECT_EQ(r.id, inspectCert(r.rootCert)->fingerprint);
  EXPECT_FALSE(r.privateKey.empty());
}

TEST(CaPlan, RotationCrossSignsAndKeepsTheOldRootUntilPruned) {
  int64_t t0 = 1'700'000'000;
  auto boot = planBootstrap(kCluster, t0);
  ASSERT_TRUE(boot.ok());
  CaState s = boot->state;
  s.modifyIndex = 5;
  auto rot = planRotation(s, t0 + 100);
  ASSERT_TRUE(rot.ok()) << rot.error().message;
  EXPECT_EQ(rot->expectModifyIndex, 5u);
  ASSERT_EQ(rot->state.roots.size(), 2u);
  const auto& oldRoot = rot->state.roots[0];
  const auto& newRoot = rot->state.roots[1];
  EXPECT_FALSE(oldRoot.active);
  EXPECT_EQ(oldRoot.rotatedOutAt, t0 + 100);
  EXPECT_TRUE(newRoot.active);
  EXPECT_NE(newRoot.id, oldRoot.id);
  ASSERT_EQ(newRoot.intermediateCerts.size(), 1u);
  auto cross = inspectCert(newRoot.intermediateCerts[0]);
  ASSERT_TRUE(cross.ok());
  EXPECT_EQ(cross->subjectKeyId, newRoot.signingKeyId);
  EXPECT_EQ(cross->authorityKeyId, oldRoot.signingKeyId);

  s = rot->state;
  s.modifyIndex = 9;
  int64_t leafTtl = 72 * 3600;
  EXPECT_FALSE(planPrune(s, t0 + 100 + leafTtl, leafTtl).has_value());
  auto pruned = planPrune(s, t0 + 100 + leafTtl + 3601, leafTtl);
  ASSERT_TRUE(pruned.has_value());
  EXPECT_EQ(pruned->expectModifyIndex, 9u);
  ASSERT_EQ(pruned->state.roots.size(), 1u);
  EXPECT_EQ(pruned->state.roots[0].id, newRoot.id);
}

TEST(CaPlan, RotationNeedsAnActiveRoot) {
  EXPECT_FALSE(planRotation(CaState{}, 1).ok());
}

}  // namespace
}  // namespace cairn::registry
