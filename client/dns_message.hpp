// The parts of a DNS response the resolver needs: rcode, and the SRV, A,
// AAAA and CNAME records of the answer and additional sections with their
// TTLs. Every length read from the wire is bounds-checked; compression
// pointers must point backwards. Pure: no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::client::dns {

inline constexpr std::uint16_t kTypeA = 1;
inline constexpr std::uint16_t kTypeCname = 5;
inline constexpr std::uint16_t kTypeAaaa = 28;
inline constexpr std::uint16_t kTypeSrv = 33;

struct Record {
  std::string name;  // lower-case, without the final dot
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  // SRV
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  // SRV and CNAME: the target name; A and AAAA: the address as text.
  std::string data;
};

struct Message {
  std::uint8_t rcode = 0;  // 0 NOERROR, 3 NXDOMAIN, ...
  std::vector<Record> answers;
  std::vector<Record> additionals;
};

// Records of other types are skipped. Fails (kCorruption) on a truncated or
// malformed message, naming what is wrong.
Result<Message> parseMessage(std::string_view wire);

// "web" -> "web.service.<domain>"; a name with a dot is used as is, without
// a final dot. Lower-cased.
std::string queryName(std::string_view name, std::string_view domain);

}  // namespace cairn::client::dns
