// The one translation unit that compiles Asio's TLS layer (separate
// compilation, like asio_impl.cpp). Kept apart so that only targets that
// link cairn_tls link OpenSSL.
#include <boost/asio/ssl/impl/src.hpp>
