// OpenSSL's error queue in words, for error messages. Private to the build
// (not installed): compiled into cairn_asio_ssl, which every target that
// speaks TLS links, the client library included. No OpenSSL header here.
#pragma once

#include <string>

namespace cairn {

// The reasons on this thread's OpenSSL error queue, oldest first, joined by
// "; " ("no detail from OpenSSL" when the queue is empty); empties the queue.
std::string opensslErrors();

}  // namespace cairn
