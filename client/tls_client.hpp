// The client's TLS: the context built from ClientConfig's files, the
// per-connection name checks, and failures said in words. Internal (brings
// in Asio's ssl headers and OpenSSL); include from .cpp files only.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace cairn::client {

struct TlsClientOptions {
  std::string caFile;      // PEM bundle; with caPath also empty: the system's CAs
  std::string caPath;      // a directory of PEM files
  std::string clientCert;  // PEM chain, with clientKey; both or neither
  std::string clientKey;
  std::string serverName;  // what the server's certificate must hold; empty: the host
  bool verify = true;      // false: accept any server certificate
};

struct TlsClientContext {
  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_client};
  std::string serverName;
  bool verify = true;
  bool hasClientCert = false;
  bool systemCas = false;  // no CA file or path given
};

// Loads and checks the files (errors name the file and what is wrong with
// it); TLS 1.2 at least.
Result<std::shared_ptr<TlsClientContext>> makeTlsClientContext(const TlsClientOptions& options);

// Sets up a new connection to `host` (a name or an IP literal): SNI for a
// name, and the name or IP address the server's certificate must hold.
Status prepareTlsConnection(SSL* ssl, const TlsClientContext& tls, const std::string& host);

// The name the server's certificate is checked against.
std::string expectedServerName(const TlsClientContext& tls, const std::string& host);

// True for errors reported by OpenSSL (verification, alerts, bad records).
bool isTlsError(const boost::system::error_code& ec);

// Why a handshake or a read over TLS failed, in words: "certificate verify
// failed: ...", "the server is not speaking TLS ...", "the server refused
// ...". `ssl` (may be null) gives the verification result.
std::string describeTlsFailure(const boost::system::error_code& ec, SSL* ssl,
                               const TlsClientContext& tls, const std::string& host);

}  // namespace cairn::client
