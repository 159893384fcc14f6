#include "proxy/mesh_identity.hpp"

#include <gtest/gtest.h>

namespace cairn::proxy {
namespace {

constexpr const char* kLeaf = R"({"SerialNumber":"0a:1b","CertPEM":"CERT","PrivateKeyPEM":"KEY",
  "Service":"web","ServiceURI":"spiffe://td.consul/ns/default/dc/dc1/svc/web",
  "ValidAfter":"2026-11-27T17:04:34Z","ValidBefore":"2026-11-30T17:05:34Z",
  "CreateIndex":12,"ModifyIndex":12})";

TEST(MeshIdentity, DecodesTheLeafAnswer) {
  auto l = decodeMeshLeaf(kLeaf);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->certPem, "CERT");
  EXPECT_EQ(l->keyPem, "KEY");
  EXPECT_EQ(l->serialHex, "0a:1b");
  EXPECT_EQ(l->index, 12u);
  EXPECT_EQ(l->validAfter, 1795799074);  // date -d 2026-11-27T17:04:34Z +%s
  EXPECT_EQ(l->validBefore - l->validAfter, 3 * 86400 + 60);
}

TEST(MeshIdentity, RefusesLeafAnswersWithoutCertificateKeyOrTimes) {
  EXPECT_FALSE(decodeMeshLeaf("[]").ok());
  EXPECT_FALSE(decodeMeshLeaf("{").ok());
  EXPECT_FALSE(decodeMeshLeaf(R"({"PrivateKeyPEM":"K","ValidAfter":"2026-01-01T00:00:00Z",
      "ValidBefore":"2026-01-02T00:00:00Z"})")
                   .ok());
  auto noTime = decodeMeshLeaf(R"({"CertPEM":"C","PrivateKeyPEM":"K","ValidAfter":"yesterday",
      "ValidBefore":"2026-01-02T00:00:00Z"})");
  ASSERT_FALSE(noTime.ok());
  EXPECT_NE(noTime.error().message.find("ValidAfter"), std::string::npos);
}

TEST(MeshIdentity, ParsesRfc3339) {
  EXPECT_EQ(*parseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parseRfc3339("2000-03-01T00:00:01Z"), 951868801);
  EXPECT_FALSE(parseRfc3339("2000-03-01 00:00:01Z").ok());
  EXPECT_FALSE(parseRfc3339("2000-03-01T00:00:01").ok());
  EXPECT_FALSE(parseRfc3339("2000-03-01T00:00:01Zx").ok());
}

TEST(MeshIdentity, DecodesEveryRootAndTheActiveRootsIntermediates) {
  auto r = decodeMeshRoots(R"({"ActiveRootID":"b","TrustDomain":"td.consul","Roots":[
      {"ID":"a","RootCert":"OLD","IntermediateCerts":["NOT-SENT"],"Active":false},
      {"ID":"b","RootCert":"NEW","IntermediateCerts":["CROSS"],"Active":true}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->trustDomain, "td.consul");
  EXPECT_EQ(r->rootPems, (std::vector<std::string>{"OLD", "NEW"}));
  EXPECT_EQ(r->activeIntermediates, std::vector<std::string>{"CROSS"});
}

TEST(MeshIdentity, RootsWithoutACaAreUnavailable) {
  auto r = decodeMeshRoots(R"({"ActiveRootID":"","TrustDomain":"","Roots":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(decodeMeshRoots(R"({"TrustDomain":"td","Roots":[]})").ok());
}

TEST(MeshIdentity, UpstreamIdTakesTheRootsTrustDomainAndOurDatacenter) {
  MeshLeaf own;
  own.serviceUri = "spiffe://old.consul/ns/default/dc/east/svc/web";
  MeshRoots roots;
  roots.trustDomain = "new.consul";
  auto id = upstreamSpiffeId(own, roots, "api");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "spiffe://new.consul/ns/default/dc/east/svc/api");
  own.serviceUri = "not-a-uri";
  EXPECT_FALSE(upstreamSpiffeId(own, roots, "api").ok());
}

}  // namespace
}  // namespace cairn::proxy
