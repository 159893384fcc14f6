#include "client/address.hpp"

#include <charconv>
#include <cstdlib>

namespace cairn::client {
namespace {

constexpr std::uint16_t kDefaultPort = 8500;

Error bad(std::string_view address, std::string_view why) {
  return invalidArgument("invalid HTTP address \"" + std::string(address) +
                         "\": " + std::string(why));
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<Endpoint> parseAddress(std::string_view address) {
  std::string_view rest = address;
  if (startsWith(rest, "https://")) return bad(address, "https is not supported yet");
  if (startsWith(rest, "http://")) rest.remove_prefix(7);
  if (rest.find("://") != std::string_view::npos) return bad(address, "unsupported scheme");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad(address, "no host");
  if (rest.find_first_of("/?#@ \t\r\n") != std::string_view::npos) {
    return bad(address, "want host:port or http://host:port");
  }

  Endpoint ep;
  std::string_view portText;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad(address, "unclosed '['");
    ep.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(address, "junk after ']'");
      portText = after.substr(1);
      if (portText.empty()) return bad(address, "empty port");
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return bad(address, "write IPv6 addresses as [addr]:port");
    }
    ep.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = rest.substr(colon + 1);
      if (portText.empty()) return bad(address, "empty port");
    }
  }
  if (ep.host.empty()) return bad(address, "no host");

  ep.port = kDefaultPort;
  if (!portText.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (ec != std::errc() || end != portText.data() + portText.size() || value == 0 ||
        value > 65535) {
      return bad(address, "port must be a number from 1 to 65535");
    }
    ep.port = static_cast<std::uint16_t>(value);
  }
  bool v6 = ep.host.find(':') != std::string::npos;
  ep.display = (v6 ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port);
  return ep;
}

std::string defaultAddress() {
  const char* env = std::getenv(std::string(kAddressEnv).c_str());
  if (env != nullptr && *env != '\0') return env;
  return std::string(kDefaultAddress);
}

std::string defaultToken() {
  const char* env = std::getenv(std::string(kTokenEnv).c_str());
  return env != nullptr ? env : "";
}

}  // namespace cairn::client
