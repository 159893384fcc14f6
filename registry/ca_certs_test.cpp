// The mesh CA's certificates, parsed back with OpenSSL and checked field by
// field, and verified as chains the way a peer would.
#include "registry/ca_certs.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace cairn::registry {
namespace {

using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

CertPtr parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new_mem_buf(pem.data(), int(pem.size())),
                                              &BIO_free);
  return CertPtr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr), &X509_free);
}

int64_t unixOf(const ASN1_TIME* t) {
  std::tm tm{};
  EXPECT_EQ(ASN1_TIME_to_tm(t, &tm), 1);
  return timegm(&tm);
}

bool extCritical(X509* x, int nid) {
  int at = X509_get_ext_by_NID(x, nid, -1);
  return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, at)) == 1;
}

// Verifies `leaf` against the trusted `roots`, with `untrusted` as
// intermediates; returns OpenSSL's verify error (X509_V_OK on success).
int verifyChain(const std::string& leaf, const std::vector<std::string>& roots,
                const std::vector<std::string>& untrusted = {}, time_t at = 0) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  std::vector<CertPtr> keep;
  for (const auto& r : roots) {
    keep.push_back(parse(r));
    X509_STORE_add_cert(store.get(), keep.back().get());
  }
  STACK_OF(X509)* chain = sk_X509_new_null();
  for (const auto& u : untrusted) {
    keep.push_back(parse(u));
    sk_X509_push(chain, keep.back().get());
  }
  CertPtr l = parse(leaf);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), l.get(), chain);
  if (at) X509_STORE_CTX_set_time(ctx.get(), 0, at);
  int ok = X509_verify_cert(ctx.get());
  int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  X509_STORE_CTX_free(ctx.release());
  sk_X509_free(chain);
  return err;
}

constexpr char kUri[] =
    "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web";

TEST(CaCerts, LeafHasEveryPropertyTheMeshNeeds) {
  int64_t now = std::time(nullptr);
  auto root = makeRootCa("11111111-2222-3333-4444-555555555555.consul", "Cairn CA 1", now,
                         10 * 365 * 86400);
  ASSERT_TRUE(root.ok()) << root.error().message;
  auto leaf = signLeaf(root->certPem, root->keyPem, {kUri, "web", now, 72 * 3600, 60});
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;
  CertPtr x = parse(leaf->certPem);
  ASSERT_TRUE(x);

  // Exactly one SAN, a URI, the SPIFFE ID.
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  ASSERT_EQ(sk_GENERAL_NAME_num(names), 1);
  const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, 0);
  ASSERT_EQ(gn->type, GEN_URI);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(
                ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier))),
            kUri);
  GENERAL_NAMES_free(names);

  // Not a CA, and the constraint is critical.
  EXPECT_EQ(X509_check_ca(x.get()), 0);
  auto* bc = static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(x.get(), NID_basic_constraints, nullptr, nullptr));
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->ca, 0);
  BASIC_CONSTRAINTS_free(bc);
  EXPECT_TRUE(extCritical(x.get(), NID_basic_constraints));

  // Key usage: digital signature (+ key encipherment), nothing for CAs.
  uint32_t ku = X509_get_key_usage(x.get());
  EXPECT_TRUE(ku & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(ku & KU_KEY_CERT_SIGN);
  EXPECT_FALSE(ku & KU_CRL_SIGN);
  EXPECT_TRUE(extCritical(x.get(), NID_key_usage));
  // Extended key usage: both server and client auth.
  uint32_t eku = X509_get_extended_key_usage(x.get());
  EXPECT_TRUE(eku & XKU_SSL_SERVER);
  EXPECT_TRUE(eku & XKU_SSL_CLIENT);

  // Backdated one minute, valid 72 h.
  EXPECT_EQ(unixOf(X509_get0_notBefore(x.get())), now - 60);
  EXPECT_EQ(unixOf(X509_get0_notAfter(x.get())), now + 72 * 3600);
  EXPECT_EQ(leaf->notBefore, now - 60);
  EXPECT_EQ(leaf->notAfter, now + 72 * 3600);

  // An EC P-256 key that belongs to the certificate.
  EVP_PKEY* pub = X509_get0_pubkey(x.get());
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(pub), 256);
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(
      BIO_new_mem_buf(leaf->keyPem.data(), int(leaf->keyPem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(x.get(), key.get()), 1);

  // Issued by the root, and verifies against it alone.
  EXPECT_EQ(leaf->authorityKeyId, root->subjectKeyId);
  EXPECT_EQ(verifyChain(leaf->certPem, {root->certPem}), X509_V_OK);
  EXPECT_EQ(X509_check_purpose(x.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
  EXPECT_EQ(X509_check_purpose(x.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  auto uris = certUris(leaf->certPem);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{kUri});
  EXPECT_FALSE(leaf->serialHex.empty());
}

TEST(CaCerts, RootIsACriticallyConstrainedCaWithTheTrustDomain) {
  int64_t now = std::time(nullptr);
  auto root = makeRootCa("td.consul", "Cairn CA 1", now, 86400);
  ASSERT_TRUE(root.ok());
  CertPtr x = parse(root->certPem);
  EXPECT_EQ(X509_check_ca(x.get()), 1);
  EXPECT_TRUE(extCritical(x.get(), NID_basic_constraints));
  EXPECT_TRUE(X509_get_key_usage(x.get()) & KU_KEY_CERT_SIGN);
  auto uris = certUris(root->certPem);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{"spiffe://td.consul"});
  EXPECT_EQ(root->fingerprint.size(), 20u * 3 - 1);  // SHA-1, colon hex
  EXPECT_FALSE(root->subjectKeyId.empty());
  EXPECT_GT(root->serial, 0u);
  auto again = inspectCert(root->certPem);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->fingerprint, root->fingerprint);
  EXPECT_EQ(again->notAfter, now + 86400);
}

TEST(CaCerts, LeafNeverOutlivesItsCa) {
  int64_t now = std::time(nullptr);
  auto root = makeRootCa("td.consul", "Cairn CA 1", now, 3600);
  ASSERT_TRUE(root.ok());
  auto leaf = signLeaf(root->certPem, root->keyPem, {kUri, "web", now, 72 * 3600, 60});
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(leaf->notAfter, now + 3600);
}

TEST(CaCerts, ExpiredLeafAndForeignCaAreRefused) {
  int64_t now = std::time(nullptr);
  auto root = makeRootCa("td.consul", "Cairn CA 1", now, 86400);
  auto other = makeRootCa("td.consul", "Cairn CA other", now, 86400);
  ASSERT_TRUE(root.ok() && other.ok());
  auto leaf = signLeaf(root->certPem, root->keyPem, {kUri, "web", now, 3600, 60});
  ASSERT_TRUE(leaf.ok());
  EXPECT_NE(verifyChain(leaf->certPem, {other->certPem}), X509_V_OK);
  EXPECT_EQ(verifyChain(leaf->certPem, {root->certPem}, {}, now + 7200),
            X509_V_ERR_CERT_HAS_EXPIRED);
  // Root's name, another key: the signature does not verify.
  auto forged = signLeaf(root->certPem, other->keyPem, {kUri, "web", now, 3600, 60});
  ASSERT_TRUE(forged.ok());
  EXPECT_NE(verifyChain(forged->certPem, {root->certPem}), X509_V_OK);
  EXPECT_FALSE(signLeaf("not pem", root->keyPem, {kUri, "web", now, 3600, 60}).ok());
  EXPECT_FALSE(signLeaf(root->certPem, root->keyPem, {kUri, "web", now, 0, 60}).ok());
}

// Rotation: a peer that trusts only the old root accepts a leaf of the new
// one through the cross-signed certificate; one that trusts only the new
// root still accepts leaves of the old one only if it also trusts the old.
TEST(CaCerts, CrossSignedNewRootChainsToTheOldOne) {
  int64_t now = std::time(nullptr);
  auto oldRoot = makeRootCa("td.consul", "Cairn CA 1", now, 86400 * 30);
  auto newRoot = makeRootCa("td.consul", "Cairn CA 2", now, 86400 * 30);
  ASSERT_TRUE(oldRoot.ok() && newRoot.ok());
  auto cross = crossSign(newRoot->certPem, oldRoot->certPem, oldRoot->keyPem, now);
  ASSERT_TRUE(cross.ok()) << cross.error().message;
  EXPECT_EQ(cross->subjectKeyId, newRoot->subjectKeyId);
  EXPECT_EQ(cross->authorityKeyId, oldRoot->subjectKeyId);
  CertPtr cx = parse(cross->certPem);
  EXPECT_EQ(X509_check_ca(cx.get()), 1);

  auto newLeaf = signLeaf(newRoot->certPem, newRoot->keyPem, {kUri, "web", now, 3600, 60});
  ASSERT_TRUE(newLeaf.ok());
  EXPECT_NE(verifyChain(newLeaf->certPem, {oldRoot->certPem}), X509_V_OK);
  EXPECT_EQ(verifyChain(newLeaf->certPem, {oldRoot->certPem}, {cross->certPem}), X509_V_OK);
  EXPECT_EQ(verifyChain(newLeaf->certPem, {newRoot->certPem}), X509_V_OK);
  auto oldLeaf = signLeaf(oldRoot->certPem, oldRoot->keyPem, {kUri, "web", now, 3600, 60});
  ASSERT_TRUE(oldLeaf.ok());
  EXPECT_EQ(verifyChain(oldLeaf->certPem, {oldRoot->certPem, newRoot->certPem}), X509_V_OK);
}

}  // namespace
}  // namespace cairn::registry
