#include "proxy/mesh_tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/post.hpp>
#include <sstream>

#include "common/log.hpp"
#include "common/openssl_errors.hpp"

namespace cairn::proxy {

namespace {

namespace ssl = boost::asio::ssl;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

// Every certificate in a PEM text, in order.
std::vector<X509Ptr> readCerts(std::string_view pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  while (bio) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!c) break;
    out.emplace_back(c, &X509_free);
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> makeMeshContext(const MeshLeaf& leaf,
                                                      const MeshRoots& roots) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls);
  SSL_CTX* n = ctx->native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(n, TLS1_3_VERSION) != 1)
    return Error{ErrorCode::kInternal, "cannot set the minimum TLS version: " + opensslErrors()};
  SSL_CTX_set_options(n, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  X509_STORE* store = SSL_CTX_get_cert_store(n);
  size_t trusted = 0;
  for (const auto& pem : roots.rootPems)
    for (auto& c : readCerts(pem))
      if (X509_STORE_add_cert(store, c.get()) == 1) ++trusted;
  ERR_clear_error();  // a root listed twice is not an error
  if (trusted == 0) return invalidArgument("the roots hold no PEM certificate");
  auto chain = readCerts(leaf.certPem);
  if (chain.empty()) return invalidArgument("the leaf's CertPEM holds no certificate");
  if (SSL_CTX_use_certificate(n, chain[0].get()) != 1)
    return invalidArgument("the leaf certificate is not usable: " + opensslErrors());
  for (size_t i = 1; i < chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(n, chain[i].get()) != 1)
      return invalidArgument("the leaf's chain is not usable: " + opensslErrors());
  for (const auto& pem : roots.activeIntermediates)
    for (auto& c : readCerts(pem))
      if (SSL_CTX_add1_chain_cert(n, c.get()) != 1)
        return invalidArgument("an intermediate of the active root is not usable: " +
                               opensslErrors());
  std::unique_ptr<BIO, decltype(&BIO_free)> kb(
      BIO_new_mem_buf(leaf.keyPem.data(), static_cast<int>(leaf.keyPem.size())), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr, &EVP_PKEY_free);
  if (!key) return invalidArgument("the leaf's PrivateKeyPEM is not a PEM key: " + opensslErrors());
  if (SSL_CTX_use_PrivateKey(n, key.get()) != 1 || SSL_CTX_check_private_key(n) != 1) {
    ERR_clear_error();
    return invalidArgument("the leaf's key does not match its certificate");
  }
  // Our own certificate must verify as our peers will verify it.
  STACK_OF(X509)* extra = nullptr;
  SSL_CTX_get0_chain_certs(n, &extra);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> sc(X509_STORE_CTX_new(),
                                                                     &X509_STORE_CTX_free);
  if (!sc || X509_STORE_CTX_init(sc.get(), store, chain[0].get(), extra) != 1)
    return Error{ErrorCode::kInternal, "cannot check the leaf: " + opensslErrors()};
  if (X509_verify_cert(sc.get()) != 1)
    return invalidArgument(std::string("the leaf does not verify against the roots: ") +
                           X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc.get())));
  SSL_CTX_set_verify(n, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

Result<std::unique_ptr<MeshTls>> MeshTls::create(boost::asio::io_context& io,
                                                 MeshWatchConfig config, Install install) {
  std::unique_ptr<MeshTls> m(new MeshTls(io, std::move(install)));
  MeshTls* self = m.get();
  MeshWatch::Handlers h;
  h.leaf = [self](MeshLeaf l) {
    boost::asio::post(self->io_, [self, l = std::move(l)]() mutable {
      self->leaf_ = std::move(l);
      self->rebuild("leaf");
    });
  };
  h.roots = [self](MeshRoots r) {
    boost::asio::post(self->io_, [self, r = std::move(r)]() mutable {
      ++self->rootsChanges_;
      self->roots_ = std::move(r);
      self->rebuild("roots");
    });
  };
  h.failure = [self](const std::string& what, const Error& e) {
    boost::asio::post(self->io_, [self, what, msg = e.message] {
      ++self->fetchFailures_;
      log::get("proxy")->warn("mesh {} query failed, keeping the current one error=\"{}\"", what,
                              msg);
    });
  };
  std::string service = config.service;
  auto w = MeshWatch::create(std::move(config), std::move(h), m->leaf_, m->roots_);
  if (!w.ok()) return w.error();
  auto ctx = makeMeshContext(m->leaf_, m->roots_);
  if (!ctx.ok())
    return Error{ctx.error().code,
                 "the mesh certificate for " + service + " is not usable: " + ctx.error().message};
  m->activeLeaf_ = m->leaf_;
  m->install_(std::move(*ctx));
  m->watch_ = std::move(*w);
  log::get("proxy")->info("mesh identity uri={} serial={} valid_before={} roots={}",
                          m->leaf_.serviceUri, m->leaf_.serialHex, m->leaf_.validBefore,
                          m->roots_.rootPems.size());
  return m;
}

void MeshTls::rebuild(const char* why) {
  auto ctx = makeMeshContext(leaf_, roots_);
  if (!ctx.ok()) {
    // Usually a leaf of a new root ahead of the roots list: the roots query
    // returns with it shortly and this runs again.
    ++contextFailures_;
    log::get("proxy")->info("mesh {} update not installed yet error=\"{}\"", why,
                            ctx.error().message);
    return;
  }
  bool newLeaf = !(leaf_ == activeLeaf_);
  if (newLeaf) ++leafRotations_;
  activeLeaf_ = leaf_;
  install_(std::move(*ctx));
  log::get("proxy")->info("mesh tls context installed cause={} serial={} valid_before={} roots={}",
                          why, activeLeaf_.serialHex, activeLeaf_.validBefore,
                          roots_.rootPems.size());
}

std::string MeshTls::upstreamId(const std::string& upstream) const {
  auto id = upstreamSpiffeId(activeLeaf_, roots_, upstream);
  // create() checked the URI; an unparsable one expects an ID nobody has.
  return id.ok() ? *id : "spiffe://invalid/" + upstream;
}

std::string MeshTls::renderMetrics() const {
  std::ostringstream o;
  o << "# TYPE cairn_proxy_leaf_rotations_total counter\n"
       "# TYPE cairn_proxy_roots_changes_total counter\n"
       "# TYPE cairn_proxy_mesh_fetch_failures_total counter\n"
       "# TYPE cairn_proxy_mesh_context_failures_total counter\n"
       "# TYPE cairn_proxy_leaf_expiry_timestamp_seconds gauge\n"
       "# TYPE cairn_proxy_leaf_info gauge\n"
       "# TYPE cairn_proxy_roots gauge\n";
  o << "cairn_proxy_leaf_rotations_total " << leafRotations_ << "\n";
  o << "cairn_proxy_roots_changes_total " << rootsChanges_ << "\n";
  o << "cairn_proxy_mesh_fetch_failures_total " << fetchFailures_ << "\n";
  o << "cairn_proxy_mesh_context_failures_total " << contextFailures_ << "\n";
  o << "cairn_proxy_leaf_expiry_timestamp_seconds " << activeLeaf_.validBefore << "\n";
  o << "cairn_proxy_leaf_info{serial=\"" << activeLeaf_.serialHex << "\",uri=\""
    << activeLeaf_.serviceUri << "\",active_root=\"" << roots_.activeRootId << "\"} 1\n";
  o << "cairn_proxy_roots " << roots_.rootPems.size() << "\n";
  return o.str();
}

}  // namespace cairn::proxy
