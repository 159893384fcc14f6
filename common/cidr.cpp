#include "common/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace cairn {

bool addressBytes(const sockaddr* addr, std::array<uint8_t, 16>& out, bool& v6) {
  out.fill(0);
  if (addr->sa_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(addr);
    std::memcpy(out.data(), &a->sin_addr, 4);
    v6 = false;
    return true;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      std::memcpy(out.data(), a->sin6_addr.s6_addr + 12, 4);
      v6 = false;
    } else {
      std::memcpy(out.data(), a->sin6_addr.s6_addr, 16);
      v6 = true;
    }
    return true;
  }
  return false;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto bad = [&](const char* why) {
    return invalidArgument("\"" + std::string(text) + "\" is not an address prefix: " + why);
  };
  std::string addr(text.substr(0, text.find('/')));
  Cidr c;
  if (inet_pton(AF_INET, addr.c_str(), c.bytes.data()) == 1) {
    c.length = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), c.bytes.data()) == 1) {
    c.v6 = true;
    c.length = 128;
  } else {
    return bad("expected an IPv4 or IPv6 address");
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto len = text.substr(slash + 1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (len.empty() || ec != std::errc() || end != len.data() + len.size() || n > c.length)
      return bad(c.v6 ? "the length must be 0-128" : "the length must be 0-32");
    c.length = static_cast<uint8_t>(n);
  }
  // Clear the host bits, so "10.1.2.3/8" means 10.0.0.0/8.
  for (size_t bit = c.length; bit < 128; ++bit)
    c.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  return c;
}

bool Cidr::contains(const sockaddr* addr) const {
  std::array<uint8_t, 16> b;
  bool isV6 = false;
  if (!addressBytes(addr, b, isV6) || isV6 != v6) return false;
  size_t full = length / 8;
  if (std::memcmp(b.data(), bytes.data(), full) != 0) return false;
  if (length % 8 == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff00u >> (length % 8));
  return (b[full] & mask) == bytes[full];
}

std::string Cidr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(length);
}

Result<std::vector<Cidr>> parseCidrs(const std::vector<std::string>& texts) {
  std::vector<Cidr> out;
  for (const auto& t : texts) {
    auto c = Cidr::parse(t);
    if (!c.ok()) return c.error();
    out.push_back(*c);
  }
  return out;
}

bool anyContains(const std::vector<Cidr>& list, const sockaddr* addr) {
  for (const auto& c : list)
    if (c.contains(addr)) return true;
  return false;
}

}  // namespace cairn
