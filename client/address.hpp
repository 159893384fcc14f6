// Where the client connects: parsing of Consul-style HTTP addresses.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace cairn::client {

inline constexpr std::string_view kDefaultAddress = "127.0.0.1:8500";
// Each variable is read first under Cairn's name, then under Consul's.
inline constexpr std::string_view kAddressEnv = "CAIRN_HTTP_ADDR";  // CONSUL_HTTP_ADDR
inline constexpr std::string_view kTokenEnv = "CAIRN_HTTP_TOKEN";   // CONSUL_HTTP_TOKEN

struct Endpoint {
  std::string host;  // a name or an IP literal, without IPv6 brackets
  std::uint16_t port = 0;
  std::string display;     // "host:port" ("[::1]:8500"), for messages and Host
  bool tls = false;        // https://
  bool hasScheme = false;  // written with http:// or https://
};

// Accepts "host:port", "host" (port 8500), "http://host:port[/]",
// "https://host:port[/]" (port 8501 when omitted) and IPv6 as "[::1]:8500".
// Refuses other schemes, paths, and bad ports.
Result<Endpoint> parseAddress(std::string_view address);

// $CAIRN_HTTP_ADDR (else $CONSUL_HTTP_ADDR) when set and not empty, else
// kDefaultAddress.
std::string defaultAddress();
// $CAIRN_HTTP_TOKEN (else $CONSUL_HTTP_TOKEN), or "".
std::string defaultToken();

}  // namespace cairn::client
