#include "client/tls_client.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <filesystem>

#include "common/openssl_errors.hpp"
#include "common/tls_files.hpp"

namespace cairn::client {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// Adds every PEM certificate of every regular file in `dir` to the store
// (as Consul's CAPath does: no hashed names needed).
Status loadCaPath(SSL_CTX* ctx, const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return invalidArgument("CA path " + dir + ": not a directory");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(entry.path().c_str(), "r"),
                                                  &BIO_free);
    if (!bio) continue;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr)) {
      if (X509_STORE_add_cert(store, cert) == 1) ++added;
      X509_free(cert);
    }
    ERR_clear_error();  // the end of each file reads as an error
  }
  if (ec) return invalidArgument("CA path " + dir + ": cannot list: " + ec.message());
  if (added == 0) return invalidArgument("CA path " + dir + ": no PEM certificate in its files");
  return {};
}

Status loadClientCertificate(SSL_CTX* n, const TlsClientOptions& o) {
  if (o.clientCert.empty() != o.clientKey.empty())
    return invalidArgument(o.clientCert.empty()
                               ? "client key " + o.clientKey + " given without a client certificate"
                               : "client certificate " + o.clientCert + " given without its key");
  if (o.clientCert.empty()) return {};
  if (Status st = checkReadable("client certificate", o.clientCert); !st) return st;
  if (Status st = checkReadable("client key", o.clientKey); !st) return st;
  return useCertificateAndKey(n, "client certificate", o.clientCert, "client key", o.clientKey);
}

bool isIpLiteral(const std::string& name) {
  boost::system::error_code ec;
  asio::ip::make_address(name, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<TlsClientContext>> makeTlsClientContext(const TlsClientOptions& o) {
  auto tls = std::make_shared<TlsClientContext>();
  tls->serverName = o.serverName;
  tls->verify = o.verify;
  tls->hasClientCert = !o.clientCert.empty();
  tls->systemCas = o.caFile.empty() && o.caPath.empty();
  SSL_CTX* n = tls->ctx.native_handle();
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(n, TLS1_2_VERSION) != 1)
    return Error{ErrorCode::kInternal, "cannot set the minimum TLS version: " + opensslErrors()};
  SSL_CTX_set_options(n, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (o.verify) {
    if (!o.caFile.empty()) {
      if (Status st = checkReadable("CA file", o.caFile); !st) return st.error();
      if (SSL_CTX_load_verify_locations(n, o.caFile.c_str(), nullptr) != 1)
        return invalidArgument("CA file " + o.caFile + ": no PEM certificate could be loaded (" +
                               opensslErrors() + ")");
    }
    if (!o.caPath.empty()) {
      if (Status st = loadCaPath(n, o.caPath); !st) return st.error();
    }
    if (o.caFile.empty() && o.caPath.empty() && SSL_CTX_set_default_verify_paths(n) != 1)
      return Error{ErrorCode::kInternal,
                   "cannot load the system's trusted CAs: " + opensslErrors()};
    SSL_CTX_set_verify(n, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(n, SSL_VERIFY_NONE, nullptr);
  }
  if (Status st = loadClientCertificate(n, o); !st) return st.error();
  return tls;
}

std::string expectedServerName(const TlsClientContext& tls, const std::string& host) {
  return tls.serverName.empty() ? host : tls.serverName;
}

Status prepareTlsConnection(SSL* ssl, const TlsClientContext& tls, const std::string& host) {
  std::string name = expectedServerName(tls, host);
  bool ip = isIpLiteral(name);
  // SNI carries host names only (RFC 6066).
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
    return invalidArgument("bad TLS server name \"" + name + "\"");
  if (!tls.verify) return {};
  if (ip) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) != 1)
      return invalidArgument("bad IP address \"" + name + "\" for TLS verification");
  } else {
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, name.c_str()) != 1)
      return invalidArgument("bad TLS server name \"" + name + "\"");
  }
  return {};
}

bool isTlsError(const boost::system::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category();
}

std::string describeTlsFailure(const boost::system::error_code& ec, SSL* ssl,
                               const TlsClientContext& tls, const std::string& host) {
  if (ec == asio::ssl::error::stream_truncated || ec == asio::error::eof ||
      ec == asio::error::connection_reset)
    return "the server closed the connection (" + ec.message() + ")";
  if (!isTlsError(ec)) return ec.message();
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
          return "certificate verify failed: the server's certificate is not signed by a trusted "
                 "CA (" +
                 why +
                 (tls.systemCas ? "; no CA file given, only the system's CAs are trusted)"
                                : "; check the CA file)");
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
          return "certificate verify failed: the server's certificate is not valid for \"" +
                 expectedServerName(tls, host) + "\" (" + why +
                 "; set the TLS server name to one it holds)";
        default:
          return "certificate verify failed: " + why;
      }
    }
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
      return "the server is not speaking TLS (" + ec.message() +
             "; for plain HTTP use an http:// address)";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
      return "no TLS version in common with the server (" + ec.message() + ")";
    default:
      break;
  }
  // An alert from the server (SSL_R_* = SSL_AD_REASON_OFFSET + alert number).
  switch (reason - SSL_AD_REASON_OFFSET) {
    case TLS13_AD_CERTIFICATE_REQUIRED:
      return "the server requires a client certificate (" + ec.message() + ")" +
             (tls.hasClientCert ? "" : "; none is configured");
    case SSL3_AD_HANDSHAKE_FAILURE:
      if (!tls.hasClientCert)
        return "the server refused the handshake (" + ec.message() +
               "); it may require a client certificate, and none is configured";
      return "the server refused the handshake (" + ec.message() + ")";
    case SSL3_AD_BAD_CERTIFICATE:
    case SSL3_AD_UNSUPPORTED_CERTIFICATE:
    case SSL3_AD_CERTIFICATE_REVOKED:
    case SSL3_AD_CERTIFICATE_EXPIRED:
    case SSL3_AD_CERTIFICATE_UNKNOWN:
    case TLS1_AD_UNKNOWN_CA:
    case TLS1_AD_ACCESS_DENIED:
      return "the server refused the client certificate (" + ec.message() + ")";
    default:
      return "TLS failure (" + ec.message() + ")";
  }
}

}  // namespace cairn::client
