// Address prefixes ("10.0.0.0/8", "::1/128", or a bare address for one
// host) and the test of a socket address against a list of them.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn {

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // network order; the first 4 for IPv4
  uint8_t length = 0;               // prefix length in bits

  static Result<Cidr> parse(std::string_view text);
  // IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4 prefixes.
  bool contains(const sockaddr* addr) const;
  std::string toString() const;
};

Result<std::vector<Cidr>> parseCidrs(const std::vector<std::string>& texts);
bool anyContains(const std::vector<Cidr>& list, const sockaddr* addr);

// The address of `addr` as 16 bytes (IPv4 in the first 4) and whether it is
// IPv6 (IPv4-mapped addresses count as IPv4). False for other families.
bool addressBytes(const sockaddr* addr, std::array<uint8_t, 16>& out, bool& v6);

}  // namespace cairn
