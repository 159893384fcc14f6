#include "dns/names.hpp"

#include <algorithm>

namespace cairn::dns {
namespace {

std::vector<std::string> splitLower(std::string_view dotted) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : dotted) {
    if (c == '.') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(asciiLower(static_cast<uint8_t>(c))));
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Parses a lower-case hex label of 8 or 32 digits into 4 or 16 bytes.
bool parseHexAddr(std::string_view s, NameMatch& m) {
  if (s.size() != 8 && s.size() != 32) return false;
  for (size_t i = 0; i < s.size(); i += 2) {
    int hi = hexValue(s[i]), lo = hexValue(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    m.addr[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  m.addrLen = static_cast<uint8_t>(s.size() / 2);
  return true;
}

bool isKeyword(std::string_view l) {
  return l == "service" || l == "node" || l == "addr";
}

}  // namespace

Result<Zone> Zone::create(const ZoneConfig& cfg) {
  Zone z;
  z.dc_ = splitLower(cfg.datacenter).empty() ? "" : splitLower(cfg.datacenter)[0];
  if (z.dc_.empty() || cfg.datacenter.find('.') != std::string::npos)
    return invalidArgument("datacenter: \"" + cfg.datacenter + "\" is not one DNS label");
  for (const std::string* d : {&cfg.domain, &cfg.altDomain}) {
    if (d == &cfg.altDomain && (d->empty() || splitLower(*d) == splitLower(cfg.domain))) break;
    Domain dom;
    dom.labels = splitLower(*d);
    std::string dotted;
    for (const auto& l : dom.labels) dotted += l + ".";
    if (dom.labels.empty() || !encodeName(dotted, dom.wire) ||
        !encodeName(z.dc_ + "." + dotted, dom.dcWire))
      return invalidArgument((d == &cfg.domain ? "domain" : "alt_domain") + std::string(": \"") +
                             *d + "\" is not a valid DNS name");
    z.domains_.push_back(std::move(dom));
  }
  for (size_t i = 0; i < z.domains_.size(); ++i) z.matchOrder_.push_back(static_cast<uint8_t>(i));
  std::stable_sort(z.matchOrder_.begin(), z.matchOrder_.end(), [&](uint8_t a, uint8_t b) {
    return z.domains_[a].labels.size() > z.domains_[b].labels.size();
  });
  return z;
}

void Zone::classify(const Query& q, NameMatch& m) const {
  m.kind = NameKind::kOutside;
  m.tag = {};
  m.service = {};
  m.nodeLen = 0;
  m.addrLen = 0;
  for (uint8_t idx : matchOrder_) {
    const auto& labels = domains_[idx].labels;
    if (labels.size() > q.labelCount) continue;
    size_t base = q.labelCount - labels.size();
    bool match = true;
    for (size_t i = 0; i < labels.size() && match; ++i) match = q.label(base + i) == labels[i];
    if (!match) continue;
    m.domain = idx;
    classifyUnder(q, base, m);
    return;
  }
  if (reverse(q, m)) m.kind = NameKind::kReverse;
}

void Zone::classifyUnder(const Query& q, size_t n, NameMatch& m) const {
  if (n == 0) {
    m.kind = NameKind::kApex;
    return;
  }
  size_t kw;
  if (isKeyword(q.label(n - 1))) {
    kw = n - 1;
  } else if (n >= 2 && isKeyword(q.label(n - 2))) {
    kw = n - 2;
    if (q.label(n - 1) != dc_) {
      m.kind = NameKind::kNxDomain;  // another datacenter: no path to it
      return;
    }
  } else {
    m.kind = (n == 1 && q.label(0) == dc_) ? NameKind::kEmpty : NameKind::kNxDomain;
    return;
  }
  m.kind = NameKind::kNxDomain;
  if (kw == 0) {
    m.kind = NameKind::kEmpty;
    return;
  }
  std::string_view keyword = q.label(kw);
  if (keyword == "service") {
    if (kw == 1) {
      m.service = q.label(0);
    } else if (kw == 2) {
      std::string_view a = q.label(0), b = q.label(1);
      if (a.size() > 1 && a[0] == '_' && b.size() > 1 && b[0] == '_') {
        m.service = a.substr(1);  // RFC 2782
        b.remove_prefix(1);
        if (b != "tcp" && b != "udp") m.tag = b;
      } else {
        m.tag = a;
        m.service = b;
      }
    } else {
      return;
    }
    m.kind = NameKind::kService;
  } else if (keyword == "node") {
    size_t len = 0;
    for (size_t i = 0; i < kw; ++i) {
      std::string_view l = q.label(i);
      if (i) m.node[len++] = '.';
      std::copy(l.begin(), l.end(), m.node + len);
      len += l.size();
    }
    m.nodeLen = static_cast<uint8_t>(len);
    m.kind = NameKind::kNode;
  } else if (kw == 1 && parseHexAddr(q.label(0), m)) {
    m.kind = NameKind::kAddr;
  }
}

bool Zone::reverse(const Query& q, NameMatch& m) {
  size_t n = q.labelCount;
  if (n == 6 && q.label(4) == "in-addr" && q.label(5) == "arpa") {
    for (size_t i = 0; i < 4; ++i) {
      std::string_view l = q.label(i);
      if (l.empty() || l.size() > 3) return false;
      int v = 0;
      for (char c : l) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
      }
      if (v > 255 || (l.size() > 1 && l[0] == '0')) return false;
      m.addr[3 - i] = static_cast<uint8_t>(v);
    }
    m.addrLen = 4;
    return true;
  }
  if (n == 34 && q.label(32) == "ip6" && q.label(33) == "arpa") {
    for (size_t i = 0; i < 32; ++i) {
      std::string_view l = q.label(i);
      if (l.size() != 1 || hexValue(l[0]) < 0) return false;
      size_t nib = 31 - i;  // label 0 is the lowest nibble
      uint8_t& b = m.addr[nib / 2];
      if (nib % 2)
        b = static_cast<uint8_t>((b & 0xF0) | hexValue(l[0]));
      else
        b = static_cast<uint8_t>((b & 0x0F) | hexValue(l[0]) << 4);
    }
    m.addrLen = 16;
    return true;
  }
  return false;
}

}  // namespace cairn::dns
