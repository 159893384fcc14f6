// The TLS leg of a relay: an Asio ssl::stream over TCP, with the half-close
// the relay needs and the SPIFFE identity check. Internal to the proxy
// library (Asio and OpenSSL types); include from proxy/*.cpp only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace cairn::proxy {

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

// Ends our sending half with a close_notify while the peer may go on
// sending (TLS 1.3 closes each direction on its own). Asio's async_shutdown
// would then wait for the peer's close_notify, reading, and OpenSSL drops
// application data read during a shutdown; so the shutdown is started as if
// the peer's close_notify were in, which makes it write ours and finish, and
// the flag is put back before anything else runs. `keep` keeps the stream's
// owner alive until the write is done.
void shutdownSend(TlsStream& s, std::shared_ptr<void> keep);
void closeStream(TlsStream& s);

// The URI subjectAltNames of the peer's (already verified) certificate.
std::vector<std::string> peerUris(TlsStream& s);
// The URI subjectAltNames of the trust anchor that verified the peer's
// chain (the mesh's roots carry "spiffe://<trust-domain>"); empty when the
// handshake verified nothing.
std::vector<std::string> verifiedRootUris(TlsStream& s);

// Ok when `expected` is empty or is one of the peer's URI SANs; the error
// says what the peer presented.
Status checkPeerId(TlsStream& s, const std::string& expected);

}  // namespace cairn::proxy
