#include "dns/query.hpp"

namespace cairn::dns {
namespace {

// The most records accepted in the additional section of a query (an OPT,
// perhaps a TSIG or a cookie-bearing OPT); more is FORMERR.
constexpr uint16_t kMaxAdditional = 4;
// Compression pointers followed in one name; a legal name needs < 128.
constexpr int kMaxPointers = 64;

// Reads the name at `pos`, following pointers. On success `next` is where
// the record continues after the name in the original byte stream. When
// `q` is given, the labels are copied into it. Returns false when the name
// is malformed.
bool readName(std::span<const uint8_t> p, size_t pos, size_t& next, Query* q) {
  // The question is the first name in a query: nothing earlier to point
  // at, so a pointer there is malformed (and would let a small query make
  // a large echo).
  const bool allowPointers = q == nullptr;
  size_t outLen = 0;
  size_t segStart = pos;  // where the current run of labels began
  int jumps = 0;
  bool jumped = false;
  uint8_t labels = 0;
  while (true) {
    if (pos >= p.size()) return false;
    uint8_t len = p[pos];
    if ((len & 0xC0) == 0xC0) {
      if (!allowPointers || pos + 1 >= p.size()) return false;
      size_t target = static_cast<size_t>(len & 0x3F) << 8 | p[pos + 1];
      // Strictly before the run of labels that led here: each jump lowers
      // segStart, so a chain of pointers always ends.
      if (target >= segStart || ++jumps > kMaxPointers) return false;
      if (!jumped) next = pos + 2;
      jumped = true;
      pos = segStart = target;
      continue;
    }
    if (len & 0xC0) return false;  // 0x40 / 0x80: extended label types, unsupported
    if (outLen + 1 + len > kMaxNameWire) return false;
    if (pos + 1 + len > p.size()) return false;
    if (q) {
      if (len) {
        if (labels >= sizeof q->labelOff) return false;
        q->labelOff[labels] = static_cast<uint8_t>(outLen);
      }
      q->name[outLen] = len;
      q->lower[outLen] = len;
      for (size_t i = 0; i < len; ++i) {
        q->name[outLen + 1 + i] = p[pos + 1 + i];
        q->lower[outLen + 1 + i] = asciiLower(p[pos + 1 + i]);
      }
    }
    outLen += 1 + len;
    if (len == 0) break;
    ++labels;
    pos += 1 + len;
  }
  if (!jumped) next = pos + 1;
  if (q) {
    q->nameLen = static_cast<uint16_t>(outLen);
    q->labelCount = labels;
  }
  return true;
}

// Checks the options of an OPT record's RDATA are well-formed TLVs.
bool optionsWellFormed(std::span<const uint8_t> rdata) {
  size_t i = 0;
  while (i < rdata.size()) {
    if (i + 4 > rdata.size()) return false;
    uint16_t len = get16(&rdata[i + 2]);
    i += 4;
    if (len > rdata.size() - i) return false;
    i += len;
  }
  return true;
}

}  // namespace

ParseStatus parseQuery(std::span<const uint8_t> p, Query& q) {
  if (p.size() < kHeaderSize) return ParseStatus::kDrop;
  q.id = get16(&p[0]);
  q.flags = get16(&p[2]);
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0xF);
  q.hasQuestion = false;
  q.edns = false;
  if (q.flags & flag::kQr) return ParseStatus::kDrop;
  uint16_t qd = get16(&p[4]), an = get16(&p[6]), ns = get16(&p[8]), ar = get16(&p[10]);
  if (q.opcode != 0) return ParseStatus::kNotImp;
  if (qd != 1 || an != 0 || ns != 0 || ar > kMaxAdditional) return ParseStatus::kFormErr;

  size_t pos = kHeaderSize;
  size_t next = 0;
  if (!readName(p, pos, next, &q)) return ParseStatus::kFormErr;
  if (next + 4 > p.size()) return ParseStatus::kFormErr;
  q.qtype = get16(&p[next]);
  q.qclass = get16(&p[next + 2]);
  q.hasQuestion = true;
  pos = next + 4;

  bool badVersion = false;
  for (uint16_t i = 0; i < ar; ++i) {
    size_t ownerStart = pos;
    if (!readName(p, pos, next, nullptr)) return ParseStatus::kFormErr;
    if (next + 10 > p.size()) return ParseStatus::kFormErr;
    uint16_t type = get16(&p[next]);
    uint16_t cls = get16(&p[next + 2]);
    uint32_t ttl = get32(&p[next + 4]);
    uint16_t rdlen = get16(&p[next + 8]);
    size_t rdata = next + 10;
    if (rdlen > p.size() - rdata) return ParseStatus::kFormErr;
    if (type == type::kOpt) {
      // RFC 6891 6.1.1: one OPT, owned by the root name.
      if (q.edns || next != ownerStart + 1 || p[ownerStart] != 0) return ParseStatus::kFormErr;
      if (!optionsWellFormed(p.subspan(rdata, rdlen))) return ParseStatus::kFormErr;
      q.edns = true;
      q.ednsUdpSize = cls;
      q.ednsVersion = static_cast<uint8_t>(ttl >> 16);
      q.dnssecOk = ttl & 0x8000;
      if (q.ednsVersion != 0) badVersion = true;
    }
    pos = rdata + rdlen;
  }
  // Bytes after the last record are ignored, as most servers do.
  return badVersion ? ParseStatus::kBadVers : ParseStatus::kOk;
}

}  // namespace cairn::dns
