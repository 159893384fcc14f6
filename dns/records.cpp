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

}  // namespace

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
    if (family) {
      r.addrRr = static_cast<uint32_t>(out.bytes.size());
      addrRecord(out.bytes, family, addr, out.ttl);
      r.addrLen = static_cast<uint16_t>(out.bytes.size() - r.addrRr);
    }
    // The SRV target: the node's name, or an addr name for an own address,
    // or the host name the service gave.
    std::string targets[2];
    for (size_t d = 0; d < zone.domainCount() && d < 2; ++d) {
      bool ok = false;
      if (!ownAddr) ok = targetName(s.node, addr, family, zone, d, targets[d]);
      if (!ok && family) ok = targetName("", addr, family, zone, d, targets[d]);
      if (!ok && !family) ok = encodeName(addrText, targets[d]);
      if (!ok) return true;  // nothing a client could use
    }
    auto [it, fresh] = targetIds.emplace(targets[0], static_cast<uint32_t>(targetIds.size()));
    r.targetId = it->second;
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
}

}  // namespace cairn::dns
