#include "common/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include "common/openssl_errors.hpp"
#include "common/tls_files.hpp"

namespace cairn::tls {
namespace {

namespace ssl = boost::asio::ssl;

// The configured certificate must be usable before any peer tries it: it
// chains to caFile (peers configured alike verify it the same way), has not
// expired, and allows the key usages of the role.
Status checkOwnCertificate(SSL_CTX* ctx, const TlsConfig& cfg) {
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> sc(X509_STORE_CTX_new(),
                                                                     &X509_STORE_CTX_free);
  if (!leaf || !sc || X509_STORE_CTX_init(sc.get(), SSL_CTX_get_cert_store(ctx), leaf, chain) != 1)
    return Error{ErrorCode::kInternal,
                 "cannot check cert_file " + cfg.certFile + ": " + opensslErrors()};
  if (X509_verify_cert(sc.get()) != 1)
    return invalidArgument("cert_file " + cfg.certFile + " does not verify against ca_file " +
                           cfg.caFile + ": " +
                           X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc.get())));
  auto allows = [&](int purpose, const char* what) -> Status {
    if (X509_check_purpose(leaf, purpose, 0) == 1) return {};
    return invalidArgument("cert_file " + cfg.certFile + ": its key usage does not allow " + what);
  };
  if (cfg.role != TlsRole::kClient)
    if (Status st = allows(X509_PURPOSE_SSL_SERVER, "TLS server authentication (serverAuth)");
        !st.ok())
      return st;
  if (cfg.role != TlsRole::kServer)
    if (Status st = allows(X509_PURPOSE_SSL_CLIENT, "TLS client authentication (clientAuth)");
        !st.ok())
      return st;
  return {};
}

}  // namespace

Result<std::unique_ptr<ssl::context>> makeContext(const TlsConfig& cfg) {
  for (auto [key, path] : {std::pair{"ca_file", &cfg.caFile}, std::pair{"cert_file", &cfg.certFile},
                           std::pair{"key_file", &cfg.keyFile}})
    if (Status st = checkReadable(key, *path); !st.ok()) return st.error();
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls);
  SSL_CTX* n = ctx->native_handle();
  ERR_clear_error();
  int minVersion = cfg.minVersion == TlsVersion::k13 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(n, minVersion) != 1)
    return Error{ErrorCode::kInternal, "cannot set the minimum TLS version: " + opensslErrors()};
  SSL_CTX_set_options(n, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_load_verify_locations(n, cfg.caFile.c_str(), nullptr) != 1)
    return invalidArgument("ca_file " + cfg.caFile + ": no PEM certificate could be loaded (" +
                           opensslErrors() + ")");
  if (Status st = useCertificateAndKey(n, "cert_file", cfg.certFile, "key_file", cfg.keyFile);
      !st.ok())
    return st.error();
  if (Status st = checkOwnCertificate(n, cfg); !st.ok()) return st.error();
  SSL_CTX_set_verify(
      n, cfg.verifyPeer ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
      nullptr);
  if (!cfg.peerNames.empty()) {
    X509_VERIFY_PARAM* p = SSL_CTX_get0_param(n);
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    for (size_t i = 0; i < cfg.peerNames.size(); ++i) {
      const auto& name = cfg.peerNames[i];
      int ok = i == 0 ? X509_VERIFY_PARAM_set1_host(p, name.c_str(), name.size())
                      : X509_VERIFY_PARAM_add1_host(p, name.c_str(), name.size());
      if (ok != 1) return invalidArgument("bad peer name \"" + name + "\" for TLS verification");
    }
  }
  return ctx;
}

bool isTlsError(const boost::system::error_code& ec) {
  return ec.category() == boost::asio::error::get_ssl_category();
}

std::string describeFailure(const boost::system::error_code& ec, SSL* ssl) {
  if (ec == ssl::error::stream_truncated || ec == boost::asio::error::eof ||
      ec == boost::asio::error::connection_reset)
    return "the peer closed the connection (" + ec.message() + ")";
  if (ec.category() != boost::asio::error::get_ssl_category()) return ec.message();
  int reason = ERR_GET_REASON(static_cast<unsigned long>(static_cast<unsigned int>(ec.value())));
  switch (reason) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED: {
      long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
      std::string why = X509_verify_cert_error_string(v);
      switch (v) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
          return "the peer's certificate is not signed by the configured CA (" + why + ")";
        case X509_V_ERR_HOSTNAME_MISMATCH:
          return "the peer's certificate is not valid for the expected server name (" + why + ")";
        default:
          return "the peer's certificate failed verification (" + why + ")";
      }
    }
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "the peer presented no certificate";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
      return "the peer is not speaking TLS (" + ec.message() + ")";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return "no TLS version in common with the peer (" + ec.message() + ")";
    default:
      break;
  }
  // An alert the peer sent (SSL_R_* = SSL_AD_REASON_OFFSET + alert number).
  switch (reason - SSL_AD_REASON_OFFSET) {
    case SSL3_AD_BAD_CERTIFICATE:
    case SSL3_AD_UNSUPPORTED_CERTIFICATE:
    case SSL3_AD_CERTIFICATE_REVOKED:
    case SSL3_AD_CERTIFICATE_EXPIRED:
    case SSL3_AD_CERTIFICATE_UNKNOWN:
    case TLS1_AD_UNKNOWN_CA:
    case TLS1_AD_ACCESS_DENIED:
    case TLS13_AD_CERTIFICATE_REQUIRED:
      return "the peer refused our certificate (" + ec.message() + ")";
    default:
      return "TLS failure (" + ec.message() + ")";
  }
}

}  // namespace cairn::tls
