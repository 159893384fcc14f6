#include "dns/records.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <unordered_map>

namespace cairn::dns {
namespace {

void append16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void append32(std::string& s, uint32_t v) {
  append16(s, static_cast<uint16_t>(v >> 16));
  append16(s, static_cast<uint16_t>(v));
}

// Appends an RR header with the owner compressed to the question name.
void rrHeader(std::string& s, uint16_t type, uint32_t ttl, uint16_t rdlen) {
  append16(s, 0xC00C);
  append16(s, type);
  append16(s, kClassIn);
  append32(s, ttl);
  append16(s, rdlen);
}

void addrRecord(std::string& s, int family, const uint8_t* addr, uint32_t ttl) {
  uint16_t n = family == 4 ? 4 : 16;
  rrHeader(s, family == 4 ? type::kA : type::kAaaa, ttl, n);
  s.append(reinterpret_cast<const char*>(addr), n);
}

// The TXT records of one node's meta, built once per node per service.
struct NodeTxt {
  uint32_t id = 0;
  uint32_t rr = 0, len = 0;
  uint32_t nameRr[2] = {0, 0};
  uint16_t nameLen[2] = {0, 0};
};

void buildNodeTxt(const registry::Node& node, const Zone& zone, uint32_t ttl, std::string& bytes,
                  NodeTxt& out) {
  std::string names[2];
  for (size_t d = 0; d < zone.domainCount() && d < 2; ++d)
    if (!targetName(node.name, nullptr, 0, zone, d, names[d])) return;
  for (size_t d = 0; d < zone.domainCount() && d < 2; ++d) {
    out.nameRr[d] = static_cast<uint32_t>(bytes.size());
    out.nameLen[d] = static_cast<uint16_t>(names[d].size());
    bytes += names[d];
  }
  out.rr = static_cast<uint32_t>(bytes.size());
  char txt[255];
  for (const auto& [k, v] : node.meta) {
    size_t n = metaTxt(k, v, txt);
    append16(bytes, 0xC00C);  // placeholder owner, set when written
    append16(bytes, type::kTxt);
    append16(bytes, kClassIn);
    append32(bytes, ttl);
    append16(bytes, static_cast<uint16_t>(n + 1));
    bytes.push_back(static_cast<char>(n));
    bytes.append(txt, n);
    if (bytes.size() - out.rr > kMaxMessage) break;  // more could never be sent
  }
  out.len = static_cast<uint32_t>(bytes.size() - out.rr);
}

}  // namespace

size_t metaTxt(std::string_view key, std::string_view value, char (&out)[255]) {
  size_t n = 0;
  auto put = [&](char c) {
    if (n < sizeof out) out[n++] = c;
  };
  constexpr std::string_view kRaw = "rfc1035-";
  bool raw = key.size() >= kRaw.size();
  for (size_t i = 0; raw && i < kRaw.size(); ++i)
    raw = asciiLower(static_cast<uint8_t>(key[i])) == static_cast<uint8_t>(kRaw[i]);
  if (!raw) {
    size_t first = key.find_first_not_of(' '), last = key.find_last_not_of(' ');
    for (size_t i = 0; i < key.size(); ++i) {
      char c = key[i];
      if (c == '`' || c == '=' ||
          (c == ' ' && (i < first || first == std::string_view::npos || i > last)))
        put('`');
      put(c);
    }
    put('=');
  }
  for (char c : value) {
    if (c == '`' && !raw) put('`');
    put(c);
  }
  return n;
}

int parseIp(const std::string& text, uint8_t out[16]) {
  if (text.empty()) return 0;
  if (inet_pton(AF_INET, text.c_str(), out) == 1) return 4;
  if (inet_pton(AF_INET6, text.c_str(), out) == 1) return 6;
  return 0;
}

bool targetName(std::string_view node, const uint8_t* addr, int family, const Zone& zone,
                size_t domain, std::string& out) {
  std::string dotted;
  if (!node.empty()) {
    dotted.assign(node);
    dotted += ".node";
  } else {
    static const char* kHex = "0123456789abcdef";
    for (int i = 0; i < (family == 4 ? 4 : 16); ++i) {
      dotted.push_back(kHex[addr[i] >> 4]);
      dotted.push_back(kHex[addr[i] & 15]);
    }
    dotted += ".addr";
  }
  std::string head;
  if (!encodeName(dotted, head)) return false;
  head.pop_back();  // drop the root; the dc and domain follow
  const std::string& tail = zone.dcDomainWire(domain);
  if (head.size() + tail.size() > kMaxNameWire) return false;
  out = head + tail;
  return true;
}

void buildService(const registry::View& v, const registry::ServiceGroupPtr& group,
                  std::string_view name, const AnswerConfig& cfg, const Zone& zone,
                  LoadTable* loads, CachedService& out) {
  using registry::HealthStatus;
  out.group = group;
  out.instances.clear();
  out.tags.clear();
  out.bytes.clear();
  std::string lowerName(name);
  for (auto& c : lowerName) c = static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
  out.ttl = cfg.serviceTtl.of(lowerName);
  std::unordered_map<std::string, uint32_t> targetIds;
  std::unordered_map<std::string, NodeTxt> nodeTxts;
  group->instances.forEach([&](const std::string&, const registry::InstancePtr& ip) {
    const registry::Service& s = *ip->service;
    const auto* nodeEntry = v.nodes.find(s.node);
    if (!nodeEntry) return true;
    const registry::Node& node = (*nodeEntry)->node;
    HealthStatus worst = HealthStatus::kPassing;
    auto consider = [&](const std::vector<registry::CheckPtr>& checks) {
      for (const auto& c : checks)
        if (static_cast<int>(c->status) > static_cast<int>(worst)) worst = c->status;
    };
    consider((*nodeEntry)->checks);
    consider(ip->checks);
    if (worst == HealthStatus::kCritical) return true;
    if (worst == HealthStatus::kWarning && cfg.onlyPassing) return true;

    InstanceRecord r;
    int w = worst == HealthStatus::kPassing ? s.weights.passing : s.weights.warning;
    r.weight = static_cast<uint32_t>(std::clamp(w, 0, 65535));
    r.tagsBegin = static_cast<uint32_t>(out.tags.size());
    for (const auto& t : s.tags) {
      std::string lt(t);
      for (auto& c : lt) c = static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
      out.tags.push_back(std::move(lt));
    }
    r.tagsEnd = static_cast<uint32_t>(out.tags.size());

    bool ownAddr = !s.address.empty() && s.address != node.address;
    const std::string& addrText = s.address.empty() ? node.address : s.address;
    uint8_t addr[16];
    int family = parseIp(addrText, addr);
    r.family = static_cast<uint8_t>(family);
    // The SRV target: the node's name, or an addr name for an own address,
    // or the host name the service (or its node) gave. As Consul's
    // makeNodeServiceRecords (agent/dns.go): a host name is the SRV target
    // as is, with nothing for it in the additional section, and an A/AAAA
    // query gets a CNAME to it.
    std::string targets[2];
    r.targetIsNode = family && !ownAddr;
    for (size_t d = 0; d < zone.domainCount() && d < 2; ++d) {
      bool ok = false;
      if (r.targetIsNode) ok = targetName(s.node, addr, family, zone, d, targets[d]);
      if (!ok && family) {
        r.targetIsNode = false;
        ok = targetName("", addr, family, zone, d, targets[d]);
      }
      if (!ok && !family) ok = encodeName(addrText, targets[d]);
      if (!ok) return true;  // nothing a client could use
    }
    r.addrRr = static_cast<uint32_t>(out.bytes.size());
    if (family) {
      addrRecord(out.bytes, family, addr, out.ttl);
    } else {
      rrHeader(out.bytes, type::kCname, out.ttl, static_cast<uint16_t>(targets[0].size()));
      out.bytes += targets[0];
    }
    r.addrLen = static_cast<uint16_t>(out.bytes.size() - r.addrRr);
    auto [it, fresh] = targetIds.emplace(targets[0], static_cast<uint32_t>(targetIds.size()));
    r.targetId = it->second;
    auto [nt, newNode] = nodeTxts.try_emplace(s.node);
    if (newNode) {
      nt->second.id = static_cast<uint32_t>(nodeTxts.size() - 1);
      if (cfg.nodeMetaTxt && !node.meta.empty())
        buildNodeTxt(node, zone, out.ttl, out.bytes, nt->second);
    }
    r.nodeId = nt->second.id;
    r.txtRr = nt->second.rr;
    r.txtLen = nt->second.len;
    for (size_t d = 0; d < 2; ++d) {
      r.nodeNameRr[d] = nt->second.nameRr[d];
      r.nodeNameLen[d] = nt->second.nameLen[d];
    }
    int port = std::clamp(s.port, 0, 65535);
    for (size_t d = 0; d < zone.domainCount() && d < 2; ++d) {
      r.srvRr[d] = static_cast<uint32_t>(out.bytes.size());
      rrHeader(out.bytes, type::kSrv, out.ttl, static_cast<uint16_t>(6 + targets[d].size()));
      append16(out.bytes, 1);  // priority
      append16(out.bytes, static_cast<uint16_t>(r.weight));
      append16(out.bytes, static_cast<uint16_t>(port));
      out.bytes += targets[d];
      r.srvLen[d] = static_cast<uint16_t>(out.bytes.size() - r.srvRr[d]);
    }
    if (family) {
      r.glueRr = static_cast<uint32_t>(out.bytes.size());
      addrRecord(out.bytes, family, addr, out.ttl);
      r.glueLen = static_cast<uint16_t>(out.bytes.size() - r.glueRr);
    }
    if (loads && cfg.order == Order::kLeastLoaded) r.load = loads->slot(s.node, s.id);
    out.instances.push_back(std::move(r));
    return true;
  });
  out.targets = static_cast<uint32_t>(targetIds.size());
  out.nodes = static_cast<uint32_t>(nodeTxts.size());
}

}  // namespace cairn::dns
