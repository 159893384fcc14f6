#include "common/openssl_errors.hpp"

#include <openssl/err.h>

namespace cairn {

std::string opensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += r ? std::string(r) : "error " + std::to_string(e);
  }
  return out.empty() ? "no detail from OpenSSL" : out;
}

}  // namespace cairn
