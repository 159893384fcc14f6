#include "proxy/mesh_tls.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <ctime>

#include "registry/ca_certs.hpp"

namespace cairn::proxy {
namespace {

namespace ssl = boost::asio::ssl;
constexpr const char* kTd = "11111111-2222-3333-4444-555555555555.consul";

std::string uri(const std::string& svc) {
  return std::string("spiffe://") + kTd + "/ns/default/dc/dc1/svc/" + svc;
}

struct Pki {
  int64_t now = std::time(nullptr);
  registry::IssuedCert root1 = *registry::makeRootCa(kTd, "root one", now, 86400);
  registry::IssuedCert root2 = *registry::makeRootCa(kTd, "root two", now, 86400);

  MeshLeaf leaf(const registry::IssuedCert& root, const std::string& svc) {
    auto c = registry::signLeaf(
        root.certPem, root.keyPem,
        {.spiffeUri = uri(svc), .commonName = svc, .now = now, .ttlSeconds = 3600});
    EXPECT_TRUE(c.ok()) << c.error().message;
    return MeshLeaf{c->certPem, c->keyPem, c->serialHex, uri(svc), c->notBefore, c->notAfter, 1};
  }
  MeshRoots roots(std::vector<const registry::IssuedCert*> rs,
                  std::vector<std::string> intermediates = {}) {
    MeshRoots r;
    r.trustDomain = kTd;
    for (auto* c : rs) r.rootPems.push_back(c->certPem);
    r.activeIntermediates = std::move(intermediates);
    return r;
  }
};

// A full TLS handshake between two contexts over an in-memory BIO pair.
bool handshake(ssl::context& client, ssl::context& server) {
  SSL* c = SSL_new(client.native_handle());
  SSL* s = SSL_new(server.native_handle());
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(c, cb, cb);
  SSL_set_bio(s, sb, sb);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  bool cDone = false, sDone = false, failed = false;
  for (int i = 0; i < 50 && !(cDone && sDone) && !failed; ++i) {
    for (auto [ssl, done] : {std::pair{c, &cDone}, std::pair{s, &sDone}}) {
      if (*done) continue;
      int r = SSL_do_handshake(ssl);
      if (r == 1) {
        *done = true;
      } else {
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
  }
  // TLS 1.3: the server verifies the client's certificate after the client
  // considers itself done; one read on the server side finishes that.
  bool ok = !failed && cDone && sDone && SSL_get_verify_result(c) == X509_V_OK &&
            SSL_get_verify_result(s) == X509_V_OK;
  SSL_free(c);
  SSL_free(s);
  return ok;
}

TEST(MeshTls, PeersWithLeavesOfOneRootShakeHands) {
  Pki p;
  auto web = makeMeshContext(p.leaf(p.root1, "web"), p.roots({&p.root1}));
  auto api = makeMeshContext(p.leaf(p.root1, "api"), p.roots({&p.root1}));
  ASSERT_TRUE(web.ok()) << web.error().message;
  ASSERT_TRUE(api.ok()) << api.error().message;
  EXPECT_TRUE(handshake(**web, **api));
}

TEST(MeshTls, ALeafOfAnotherRootIsRefused) {
  Pki p;
  auto ahead = makeMeshContext(p.leaf(p.root2, "web"), p.roots({&p.root1}));
  ASSERT_FALSE(ahead.ok());
  EXPECT_NE(ahead.error().message.find("does not verify"), std::string::npos);
  // Both built fine, but they trust different roots.
  auto web = makeMeshContext(p.leaf(p.root1, "web"), p.roots({&p.root1}));
  auto stranger = makeMeshContext(p.leaf(p.root2, "api"), p.roots({&p.root2}));
  ASSERT_TRUE(web.ok() && stranger.ok());
  EXPECT_FALSE(handshake(**web, **stranger));
  EXPECT_FALSE(handshake(**stranger, **web));
}

TEST(MeshTls, DuringARotationTheCrossSignedRootBridgesOldAndNew) {
  Pki p;
  auto cross = registry::crossSign(p.root2.certPem, p.root1.certPem, p.root1.keyPem, p.now);
  ASSERT_TRUE(cross.ok()) << cross.error().message;
  // Rotated: a leaf of the new root, both roots trusted, the cross-signed
  // certificate sent after the leaf.
  auto rotated =
      makeMeshContext(p.leaf(p.root2, "api"), p.roots({&p.root1, &p.root2}, {cross->certPem}));
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  // Not yet rotated: an old leaf and only the old root.
  auto old = makeMeshContext(p.leaf(p.root1, "web"), p.roots({&p.root1}));
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(handshake(**old, **rotated));
  EXPECT_TRUE(handshake(**rotated, **old));
  // Without the cross-signed certificate the old side cannot verify.
  auto bare = makeMeshContext(p.leaf(p.root2, "api"), p.roots({&p.root1, &p.root2}));
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(handshake(**old, **bare));
}

TEST(MeshTls, AKeyOfAnotherLeafIsRefused) {
  Pki p;
  MeshLeaf a = p.leaf(p.root1, "web");
  a.keyPem = p.leaf(p.root1, "web").keyPem;
  auto ctx = makeMeshContext(a, p.roots({&p.root1}));
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.error().message.find("key"), std::string::npos);
  a.certPem = "garbage";
  EXPECT_FALSE(makeMeshContext(a, p.roots({&p.root1})).ok());
}

}  // namespace
}  // namespace cairn::proxy
