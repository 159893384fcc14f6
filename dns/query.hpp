// Parsing of one DNS query message from the wire. Every length read from the
// packet is bounds-checked. The question name may not be compressed; in
// later records compression pointers must point strictly before the labels
// that led to them and are followed a bounded number of times, so a loop or
// a pointer past the end is FORMERR, never a hang or an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dns/wire.hpp"

namespace cairn::dns {

// What the parser concluded about a packet.
enum class ParseStatus : uint8_t {
  kOk,
  kDrop,     // not worth an answer: too short for a header, or a response (QR=1)
  kFormErr,  // malformed: answer FORMERR
  kNotImp,   // an opcode other than QUERY: answer NOTIMP
  kBadVers,  // EDNS version > 0: answer BADVERS (RFC 6891 6.1.3)
};

// A parsed query. Plain data, no allocation; about 800 bytes on the stack.
struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // the query's flags word
  uint8_t opcode = 0;
  bool rd() const { return flags & flag::kRd; }
  bool cd() const { return flags & flag::kCd; }

  // True once the question was read (even if a later section was bad), so
  // an error answer can echo it.
  bool hasQuestion = false;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  // The question name, uncompressed wire form, as sent (case kept for the
  // echo) and lower-cased (for matching). Both nameLen bytes long,
  // including the terminating root label.
  uint8_t name[kMaxNameWire];
  uint8_t lower[kMaxNameWire];
  uint16_t nameLen = 0;
  // Offsets into name/lower of each label's length byte, first label first;
  // the root label is not counted.
  uint8_t labelOff[128];
  uint8_t labelCount = 0;

  bool edns = false;
  uint16_t ednsUdpSize = 0;  // as sent; callers clamp it
  uint8_t ednsVersion = 0;
  bool dnssecOk = false;

  // Label i (0 = leftmost) of the lower-cased name.
  std::string_view label(size_t i) const {
    const uint8_t* p = lower + labelOff[i];
    return {reinterpret_cast<const char*>(p + 1), p[0]};
  }
};

// Parses `packet`. On kFormErr/kNotImp/kBadVers, `q.id`, `q.flags`,
// `q.opcode` are set, and `q.hasQuestion` tells whether the question can be
// echoed. Never reads outside `packet`.
ParseStatus parseQuery(std::span<const uint8_t> packet, Query& q);

}  // namespace cairn::dns
