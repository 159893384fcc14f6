// The client side of a probe's TLS, shared by the HTTPS and gRPC probes.
// Include from .cpp files only: it brings in Asio's ssl headers.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <string>

namespace cairn::health {

// Before the handshake: sends `name` as SNI (unless it is an IP literal,
// which SNI may not carry) and, unless skipVerify, has the handshake fail
// when the server's certificate is not valid for `name`. The chain itself is
// checked (or not) by the context the stream was made with.
void prepareTlsClient(boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>& tls,
                      const std::string& name, bool skipVerify);

}  // namespace cairn::health
