#include "common/tls.hpp"

#include <string>

namespace cairn::tls {

Result<TlsVersion> parseTlsVersion(std::string_view name) {
  if (name == "TLSv1_2" || name == "tls12") return TlsVersion::k12;
  if (name == "TLSv1_3" || name == "tls13") return TlsVersion::k13;
  if (name == "TLSv1_0" || name == "TLSv1_1" || name == "tls10" || name == "tls11")
    return invalidArgument("\"" + std::string(name) +
                           "\" is too old: Cairn requires TLS 1.2 or later");
  return invalidArgument("\"" + std::string(name) + "\" is not one of TLSv1_2, TLSv1_3");
}

}  // namespace cairn::tls
