// DNS wire-format constants and a bounds-checked writer into a caller-owned
// buffer. No allocation: every write either fits or marks the writer as
// overflowed (and writes nothing), so callers check once at the end or use
// mark()/rewind() to drop a record that did not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cairn::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;  // RFC 1035 2.3.4
inline constexpr size_t kMaxLabel = 63;
inline constexpr size_t kMaxUdpPlain = 512;   // without EDNS
inline constexpr size_t kMaxMessage = 65535;  // TCP length prefix limit
inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassAny = 255;

namespace type {
inline constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kPtr = 12, kTxt = 16, kAaaa = 28,
                          kSrv = 33, kOpt = 41, kIxfr = 251, kAxfr = 252, kAny = 255;
}

namespace rcode {
inline constexpr uint8_t kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3, kNotImp = 4,
                         kRefused = 5;
inline constexpr uint16_t kBadVers = 16;  // extended (EDNS) rcode
}  // namespace rcode

// Header flag bits in the 16-bit flags word.
namespace flag {
inline constexpr uint16_t kQr = 0x8000, kAa = 0x0400, kTc = 0x0200, kRd = 0x0100, kRa = 0x0080,
                          kAd = 0x0020, kCd = 0x0010;
}

inline uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  put16(p, static_cast<uint16_t>(v >> 16));
  put16(p + 2, static_cast<uint16_t>(v));
}

inline uint8_t asciiLower(uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// Encodes a dotted name ("web.service.cairn", trailing dot optional, "" or
// "." for the root) into uncompressed wire form, lower-cased when asked.
// Returns false for an empty label, a label over 63 bytes or a name over 255.
bool encodeName(std::string_view dotted, std::string& out, bool lower = true);
// The same into a caller's buffer of kMaxNameWire bytes, without allocating.
// Returns the wire length, or 0 when the name is not valid.
size_t encodeName(std::string_view dotted, uint8_t* out, bool lower = true);

// Writes into [buf, buf+cap). Positions are offsets from buf (the message
// start), which is what compression pointers need.
class Writer {
 public:
  Writer(uint8_t* buf, size_t cap) : buf_(buf), cap_(cap) {}

  size_t pos() const { return pos_; }
  size_t cap() const { return cap_; }
  size_t room() const { return cap_ - pos_; }
  bool overflow() const { return overflow_; }
  uint8_t* data() { return buf_; }

  bool bytes(const void* p, size_t n) {
    if (n > room()) return fail();
    std::memcpy(buf_ + pos_, p, n);
    pos_ += n;
    return true;
  }
  bool u8(uint8_t v) { return bytes(&v, 1); }
  bool u16(uint16_t v) {
    uint8_t b[2];
    put16(b, v);
    return bytes(b, 2);
  }
  bool u32(uint32_t v) {
    uint8_t b[4];
    put32(b, v);
    return bytes(b, 4);
  }
  // Patches a 16-bit value already written at `at`.
  void set16(size_t at, uint16_t v) { put16(buf_ + at, v); }

  // A record header: owner as a compression pointer to `ownerOffset`.
  bool rrHeaderPtr(size_t ownerOffset, uint16_t type, uint16_t cls, uint32_t ttl, uint16_t rdlen) {
    uint8_t b[12];
    put16(b, static_cast<uint16_t>(0xC000 | ownerOffset));
    put16(b + 2, type);
    put16(b + 4, cls);
    put32(b + 6, ttl);
    put16(b + 10, rdlen);
    return bytes(b, sizeof b);
  }

  size_t mark() const { return pos_; }
  void rewind(size_t m) {
    pos_ = m;
    overflow_ = false;
  }

 private:
  bool fail() {
    overflow_ = true;
    return false;
  }
  uint8_t* buf_;
  size_t cap_;
  size_t pos_ = 0;
  bool overflow_ = false;
};

}  // namespace cairn::dns
