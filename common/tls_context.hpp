// Builds Asio TLS contexts from TlsConfig, with start-up errors that name
// the file and say what is wrong with it. Include from .cpp files only: it
// brings in Asio's ssl headers and OpenSSL (link cairn_tls).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "common/tls.hpp"

namespace cairn::tls {

// Loads caFile, certFile and keyFile and checks them together: the key
// matches the certificate, the certificate chains to a CA in caFile, is not
// expired, and allows the role's key usages. Sets the minimum version (never
// below TLS 1.2), the verify mode and the peer names. Encrypted keys are
// refused (there is nobody to type a pass phrase). Errors name the file.
//
// The context may be shared by many streams on one thread; OpenSSL contexts
// are also safe to share across threads once built.
Result<std::unique_ptr<boost::asio::ssl::context>> makeContext(const TlsConfig& cfg);

// Says in words why a TLS handshake or read failed, for a log line: "the
// peer presented no certificate", "the peer's certificate is not signed by
// the configured CA (...)", "the peer is not speaking TLS", "the peer
// refused our certificate (...)". `ssl` (the stream's native handle, may be
// null) gives the certificate verification result.
std::string describeFailure(const boost::system::error_code& ec, SSL* ssl);

// True when `ec` is an error reported by OpenSSL (a failed verification, an
// alert from the peer, a malformed record), as opposed to a socket error,
// EOF, a connection closed without close_notify, or cancellation.
bool isTlsError(const boost::system::error_code& ec);

}  // namespace cairn::tls
