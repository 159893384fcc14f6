#include "client/address.hpp"

#include <charconv>

#include "client/env.hpp"

namespace cairn::client {
namespace {

constexpr std::uint16_t kDefaultPort = 8500;
constexpr std::uint16_t kDefaultTlsPort = 8501;

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
  Endpoint ep;
  if (startsWith(rest, "https://")) {
    rest.remove_prefix(8);
    ep.tls = true;
    ep.hasScheme = true;
  } else if (startsWith(rest, "http://")) {
    rest.remove_prefix(7);
    ep.hasScheme = true;
  }
  if (rest.find("://") != std::string_view::npos) return bad(address, "unsupported scheme");
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad(address, "no host");
  if (rest.find_first_of("/?#@ \t\r\n") != std::string_view::npos) {
    return bad(address, "want host:port, http://host:port or https://host:port");
  }

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

  ep.port = ep.tls ? kDefaultTlsPort : kDefaultPort;
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
  std::string env = firstEnv({"CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR"});
  return env.empty() ? std::string(kDefaultAddress) : env;
}

std::string defaultToken() {
  return firstEnv({"CAIRN_HTTP_TOKEN", "CONSUL_HTTP_TOKEN"});
}

}  // namespace cairn::client
