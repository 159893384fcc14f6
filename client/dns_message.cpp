#include "client/dns_message.hpp"

#include <arpa/inet.h>

#include <cctype>

namespace cairn::client::dns {
namespace {

constexpr std::size_t kHeaderBytes = 12;
constexpr int kMaxPointers = 64;

class Reader {
 public:
  explicit Reader(std::string_view wire) : wire_(wire) {}

  bool need(std::size_t n) const { return pos_ + n <= wire_.size(); }
  std::size_t pos() const { return pos_; }
  void skip(std::size_t n) { pos_ += n; }
  std::uint8_t u8(std::size_t at) const { return static_cast<std::uint8_t>(wire_[at]); }
  std::uint16_t u16() {
    std::uint16_t v = static_cast<std::uint16_t>(u8(pos_) << 8 | u8(pos_ + 1));
    pos_ += 2;
    return v;
  }
  std::uint32_t u32() {
    std::uint32_t hi = u16();
    return hi << 16 | u16();
  }
  std::string_view bytes(std::size_t at, std::size_t n) const { return wire_.substr(at, n); }

  // Reads a possibly compressed name at the current position.
  Result<std::string> name() {
    std::string out;
    std::size_t at = pos_;
    bool jumped = false;
    for (int pointers = 0;;) {
      if (at >= wire_.size()) return corruption("DNS answer: name runs past the end");
      std::uint8_t len = u8(at);
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= wire_.size()) return corruption("DNS answer: truncated name pointer");
        std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | u8(at + 1);
        if (target >= at || ++pointers > kMaxPointers) {
          return corruption("DNS answer: bad name compression pointer");
        }
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if (len & 0xC0) return corruption("DNS answer: unknown label type");
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return out;
      }
      if (at + 1 + len > wire_.size()) return corruption("DNS answer: label runs past the end");
      if (!out.empty()) out.push_back('.');
      for (char c : bytes(at + 1, len)) out.push_back(static_cast<char>(std::tolower(c)));
      if (out.size() > 255) return corruption("DNS answer: name longer than 255 bytes");
      at += 1 + len;
    }
  }

 private:
  std::string_view wire_;
  std::size_t pos_ = 0;
};

Result<Record> readRecord(Reader& r) {
  Record rec;
  auto name = r.name();
  if (!name) return name.error();
  rec.name = std::move(*name);
  if (!r.need(10)) return corruption("DNS answer: truncated record header");
  rec.type = r.u16();
  r.skip(2);  // class
  rec.ttl = r.u32();
  std::uint16_t rdlen = r.u16();
  if (!r.need(rdlen)) return corruption("DNS answer: record data runs past the end");
  std::size_t end = r.pos() + rdlen;
  if (rec.type == kTypeSrv) {
    if (rdlen < 7) return corruption("DNS answer: SRV record too short");
    rec.priority = r.u16();
    rec.weight = r.u16();
    rec.port = r.u16();
    auto target = r.name();
    if (!target) return target.error();
    rec.data = std::move(*target);
  } else if (rec.type == kTypeCname) {
    auto target = r.name();
    if (!target) return target.error();
    rec.data = std::move(*target);
  } else if (rec.type == kTypeA || rec.type == kTypeAaaa) {
    std::size_t want = rec.type == kTypeA ? 4 : 16;
    if (rdlen != want) return corruption("DNS answer: address record of the wrong length");
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(rec.type == kTypeA ? AF_INET : AF_INET6, r.bytes(r.pos(), want).data(), text,
              sizeof text);
    rec.data = text;
  }
  if (r.pos() > end) return corruption("DNS answer: record data overruns its length");
  r.skip(end - r.pos());
  return rec;
}

bool wanted(std::uint16_t type) {
  return type == kTypeA || type == kTypeAaaa || type == kTypeSrv || type == kTypeCname;
}

}  // namespace

Result<Message> parseMessage(std::string_view wire) {
  Reader r(wire);
  if (!r.need(kHeaderBytes)) return corruption("DNS answer shorter than a header");
  Message m;
  r.skip(2);  // id
  std::uint16_t flags = r.u16();
  if ((flags & 0x8000) == 0) return corruption("DNS answer is a query, not a response");
  m.rcode = static_cast<std::uint8_t>(flags & 0x0F);
  std::uint16_t qd = r.u16();
  std::uint16_t an = r.u16();
  std::uint16_t ns = r.u16();
  std::uint16_t ar = r.u16();
  for (int i = 0; i < qd; ++i) {
    if (auto n = r.name(); !n) return n.error();
    if (!r.need(4)) return corruption("DNS answer: truncated question");
    r.skip(4);
  }
  for (int section = 0; section < 3; ++section) {
    int count = section == 0 ? an : section == 1 ? ns : ar;
    for (int i = 0; i < count; ++i) {
      auto rec = readRecord(r);
      if (!rec) return rec.error();
      if (section == 1 || !wanted(rec->type)) continue;
      (section == 0 ? m.answers : m.additionals).push_back(std::move(*rec));
    }
  }
  return m;
}

std::string queryName(std::string_view name, std::string_view domain) {
  std::string out;
  for (char c : name) out.push_back(static_cast<char>(std::tolower(c)));
  if (!out.empty() && out.back() == '.') {
    out.pop_back();
    return out;
  }
  if (out.find('.') != std::string::npos) return out;
  std::string d(domain);
  while (!d.empty() && d.back() == '.') d.pop_back();
  return out + ".service." + d;
}

}  // namespace cairn::client::dns
