#include "health/address.hpp"

namespace cairn::health {

bool splitHostPort(std::string_view a, std::string& host, std::string& port) {
  if (a.starts_with("[")) {
    size_t close = a.find("]:");
    if (close == std::string_view::npos) return false;
    host = std::string(a.substr(1, close - 1));
    port = std::string(a.substr(close + 2));
  } else {
    size_t colon = a.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = std::string(a.substr(0, colon));
    port = std::string(a.substr(colon + 1));
  }
  return !host.empty() && !port.empty();
}

std::string joinHostPort(std::string_view host, std::string_view port) {
  std::string out;
  bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += port;
  return out;
}

}  // namespace cairn::health
