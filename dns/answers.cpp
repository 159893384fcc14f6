// Service, node and reverse answers, from per-thread cached records.
#include <algorithm>

#include "dns/packet.hpp"
#include "dns/responder.hpp"

namespace cairn::dns {
namespace {

bool hasUpper(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string lowered(const std::string& s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
  return out;
}

}  // namespace

CachedService* Responder::service(const registry::View& v, std::string_view lowerName) {
  const registry::ServiceGroupPtr* g = v.services.find(lowerName);
  std::string_view name = lowerName;
  if (!g) {
    if (foldedServicesAt_ != v.servicesIndex) {
      foldedServices_.clear();
      v.services.forEach([&](const std::string& k, const registry::ServiceGroupPtr&) {
        if (hasUpper(k)) foldedServices_.emplace(lowered(k), k);
        return true;
      });
      foldedServicesAt_ = v.servicesIndex;
    }
    auto it = foldedServices_.find(lowerName);
    if (it == foldedServices_.end()) return nullptr;
    name = it->second;
    g = v.services.find(name);
    if (!g) return nullptr;
  }
  auto it = cache_.find(lowerName);
  if (it != cache_.end() && it->second->group == *g) return it->second.get();
  if (it == cache_.end()) {
    // Names of services that are gone pile up; start over now and then.
    if (cache_.size() > 2 * v.services.size() + 64) cache_.clear();
    it = cache_.emplace(std::string(lowerName), std::make_unique<CachedService>()).first;
  }
  buildService(v, *g, name, cfg_, zone_, loads_, *it->second);
  return it->second.get();
}

const registry::NodeEntry* Responder::node(const registry::View& v, std::string_view lowerName) {
  if (const auto* n = v.nodes.find(lowerName)) return n->get();
  if (foldedNodesAt_ != v.nodesIndex) {
    foldedNodes_.clear();
    v.nodes.forEach([&](const std::string& k, const registry::NodeEntryPtr&) {
      if (hasUpper(k)) foldedNodes_.emplace(lowered(k), k);
      return true;
    });
    foldedNodesAt_ = v.nodesIndex;
  }
  auto it = foldedNodes_.find(lowerName);
  if (it == foldedNodes_.end()) return nullptr;
  const auto* n = v.nodes.find(it->second);
  return n ? n->get() : nullptr;
}

void Responder::answerService(Packet& p, const registry::View& v) {
  CachedService* s = service(v, p.m.service);
  if (!s) return negative(p, v, rcode::kNxDomain);
  uint16_t qt = p.q.qtype;
  items_.clear();
  bool named = false;  // some instance matches the name (and tag)
  bool hosts = false;  // some of them have a host name, not an IP address
  bool addrQuery = qt == type::kA || qt == type::kAaaa || qt == type::kAny;
  for (uint32_t i = 0; i < s->instances.size(); ++i) {
    const InstanceRecord& r = s->instances[i];
    if (!p.m.tag.empty() && !s->hasTag(r, p.m.tag)) continue;
    named = true;
    hosts |= r.family == 0;
    bool want = qt == type::kSrv || (qt == type::kA && r.family == 4) ||
                (qt == type::kAaaa && r.family == 6) || (qt == type::kAny && r.family);
    if (want) items_.push_back({i, r.weight, NAN, 0});
  }
  // As Consul: a service with no usable instance (or none with the tag)
  // does not exist; one without records of the asked type is NODATA.
  if (!named) return negative(p, v, rcode::kNxDomain);
  // As Consul's addServiceNodeRecordsToMessage (agent/dns.go): an address
  // query answers the addresses it has; only when there are none does it
  // answer one CNAME, to the host name of one instance (chosen by the
  // configured order, as the first address would be).
  bool cname = items_.empty() && hosts && addrQuery;
  if (cname)
    for (uint32_t i = 0; i < s->instances.size(); ++i) {
      const InstanceRecord& r = s->instances[i];
      if (r.family == 0 && (p.m.tag.empty() || s->hasTag(r, p.m.tag)))
        items_.push_back({i, r.weight, NAN, 0});
    }
  if (items_.empty()) return negative(p, v, rcode::kNoError);
  if (cfg_.order == Order::kLeastLoaded && loads_) {
    int64_t now = loads_->now();
    for (auto& it : items_)
      if (const auto& slot = s->instances[it.index].load) it.load = LoadTable::read(*slot, now);
  }
  orderItems(items_, cfg_.order, rng_, s->turn++);
  size_t n = cname ? 1 : items_.size();
  if (qt != type::kSrv && cfg_.aRecordLimit) n = std::min<size_t>(n, cfg_.aRecordLimit);
  if (!p.tcp && cfg_.udpAnswerLimit) n = std::min<size_t>(n, cfg_.udpAnswerLimit);
  if (qt == type::kSrv)
    writeServiceSrv(p, *s, n);
  else
    writeServiceAddrs(p, *s, n);
}

void Responder::writeServiceAddrs(Packet& p, const CachedService& s, size_t n) {
  const char* b = s.bytes.data();
  for (size_t k = 0; k < n; ++k) {
    const InstanceRecord& r = s.instances[items_[k].index];
    if (!p.w.bytes(b + r.addrRr, r.addrLen)) {
      p.w.rewind(p.w.pos());
      p.tc = true;
      break;
    }
    ++p.an;
  }
}

// SRV answers with their targets' addresses in the additional section. As
// many (SRV + new glue) pairs as fit; TC when some were left out.
//
// Then, as Consul with dns_config.enable_additional_node_meta_txt, each
// instance's node meta as TXT records owned by the node's name, after the
// target's address. They are extra information (RFC 2181 9): written only
// into the room the answers and their glue leave, a node's set whole or not
// at all, never a reason for TC; and left out of an answer that is already
// truncated, as Consul's trimming drops them.
void Responder::writeServiceSrv(Packet& p, const CachedService& s, size_t n) {
  const char* b = s.bytes.data();
  size_t d = p.m.domain;
  // seen_: [0, targets) glue written per target, then TXT written per node.
  if (seen_.size() < s.targets + s.nodes) seen_.resize(s.targets + s.nodes, 0);
  auto glueSize = [&](const InstanceRecord& r, size_t srvAt) -> size_t {
    if (!r.glueLen || seen_[r.targetId] == seenGen_) return 0;
    size_t targetAt = srvAt + 18;  // RR header 12, priority/weight/port 6
    return targetAt <= 0x3FFF ? r.glueLen : r.glueLen - 2 + (r.srvLen[d] - 18);
  };
  // Pass 1: how many fit.
  ++seenGen_;
  size_t start = p.w.pos(), srvEnd = start, glueTotal = 0, k = 0;
  for (; k < n; ++k) {
    const InstanceRecord& r = s.instances[items_[k].index];
    size_t g = glueSize(r, srvEnd);
    if (srvEnd + r.srvLen[d] + glueTotal + g > p.limit()) break;
    srvEnd += r.srvLen[d];
    glueTotal += g;
    if (g) seen_[r.targetId] = seenGen_;
  }
  if (k < n) p.tc = true;
  // Pass 2: the answers, then the glue pointing at their targets.
  for (size_t i = 0; i < k; ++i) {
    const InstanceRecord& r = s.instances[items_[i].index];
    p.w.bytes(b + r.srvRr[d], r.srvLen[d]);
  }
  p.an = static_cast<uint16_t>(k);
  ++seenGen_;
  bool txt = cfg_.nodeMetaTxt && k == n;
  size_t srvAt = start, glueLeft = glueTotal;
  for (size_t i = 0; i < k; ++i) {
    const InstanceRecord& r = s.instances[items_[i].index];
    size_t g = glueSize(r, srvAt);
    if (g) {
      seen_[r.targetId] = seenGen_;
      size_t at = p.w.pos();
      if (srvAt + 18 <= 0x3FFF) {
        p.w.bytes(b + r.glueRr, r.glueLen);
        p.w.set16(at, static_cast<uint16_t>(0xC000 | (srvAt + 18)));
      } else {
        p.w.bytes(b + r.srvRr[d] + 18, r.srvLen[d] - 18);
        p.w.bytes(b + r.glueRr + 2, r.glueLen - 2);
      }
      ++p.ar;
      glueLeft -= g;
    }
    if (txt && r.txtLen && seen_[s.targets + r.nodeId] != seenGen_) {
      seen_[s.targets + r.nodeId] = seenGen_;
      writeNodeTxt(p, s, r, srvAt, glueLeft);
    }
    srvAt += r.srvLen[d];
  }
}

// The node's TXT records, if they fit with `reserve` bytes left over. The
// owner points at the SRV target when that is the node's name; otherwise
// the first record spells the name and the others point at it.
void Responder::writeNodeTxt(Packet& p, const CachedService& s, const InstanceRecord& r,
                             size_t srvAt, size_t reserve) {
  const char* b = s.bytes.data();
  size_t d = p.m.domain;
  const char* name = r.targetIsNode ? b + r.srvRr[d] + 18 : b + r.nodeNameRr[d];
  size_t nameLen = r.targetIsNode ? r.srvLen[d] - 18 : r.nodeNameLen[d];
  size_t ptr0 = r.targetIsNode && srvAt + 18 <= 0x3FFF ? srvAt + 18 : 0;
  // Each record: a 2-byte owner placeholder, then type, class, TTL, rdlen
  // (10 bytes) and the rdata. Pass 0 measures, pass 1 writes.
  auto body = [&](size_t off) {
    return 10 + size_t{get16(reinterpret_cast<const uint8_t*>(b) + off + 10)};
  };
  const size_t start = p.w.pos(), end = r.txtRr + r.txtLen;
  for (int pass = 0; pass < 2; ++pass) {
    size_t at = start, ptr = ptr0;
    for (size_t off = r.txtRr; off < end; off += 2 + body(off)) {
      if (pass) {
        if (ptr)
          p.w.u16(static_cast<uint16_t>(0xC000 | ptr));
        else
          p.w.bytes(name, nameLen);
        p.w.bytes(b + off + 2, body(off));
        ++p.ar;
      }
      size_t owner = ptr ? 2 : nameLen;
      if (!ptr && at <= 0x3FFF) ptr = at;
      at += owner + body(off);
    }
    if (!pass && at + reserve > p.limit()) return;
  }
}

void Responder::answerNode(Packet& p, const registry::View& v) {
  const registry::NodeEntry* n = node(v, p.m.nodeName());
  if (!n) return negative(p, v, rcode::kNxDomain);
  uint16_t qt = p.q.qtype;
  uint8_t addr[kMaxNameWire];  // an address, or the wire form of a host name
  int family = parseIp(n->node.address, addr);
  size_t hostLen = family ? 0 : encodeName(n->node.address, addr);
  bool addrQuery = qt == type::kA || qt == type::kAaaa || qt == type::kAny;
  bool wantAddr = (qt == type::kA && family == 4) || (qt == type::kAaaa && family == 6) ||
                  (qt == type::kAny && family);
  // A node whose address is a host name: a CNAME to it, as Consul's
  // makeRecordFromNode (agent/dns.go).
  bool wantCname = addrQuery && hostLen;
  bool wantTxt = (qt == type::kTxt || qt == type::kAny) && !n->node.meta.empty();
  if (!wantAddr && !wantCname && !wantTxt) return negative(p, v, rcode::kNoError);
  if (wantAddr && p.record([&] {
        uint16_t len = family == 4 ? 4 : 16;
        p.w.rrHeaderPtr(kHeaderSize, family == 4 ? type::kA : type::kAaaa, kClassIn, cfg_.nodeTtl,
                        len);
        p.w.bytes(addr, len);
      }))
    ++p.an;
  if (wantCname && p.record([&] {
        p.w.rrHeaderPtr(kHeaderSize, type::kCname, kClassIn, cfg_.nodeTtl,
                        static_cast<uint16_t>(hostLen));
        p.w.bytes(addr, hostLen);
      }))
    ++p.an;
  if (!wantTxt) return;
  // Node meta as TXT, one string per record, as Consul.
  char txt[255];
  for (const auto& [k, val] : n->node.meta) {
    size_t len = metaTxt(k, val, txt);
    if (!p.record([&] {
          p.w.rrHeaderPtr(kHeaderSize, type::kTxt, kClassIn, cfg_.nodeTtl,
                          static_cast<uint16_t>(len + 1));
          p.w.u8(static_cast<uint8_t>(len));
          p.w.bytes(txt, len);
        }))
      break;
    ++p.an;
  }
}

const std::vector<std::string>* Responder::reverseNames(const registry::View& v,
                                                        const uint8_t* addr, size_t len) {
  if (reverseAt_.get() != &v) {
    reverse_.clear();
    auto add = [&](const uint8_t* a, int family, std::string name) {
      auto& names = reverse_[std::string(reinterpret_cast<const char*>(a), family == 4 ? 4 : 16)];
      if (std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(std::move(name));
    };
    uint8_t a[16];
    std::string wire;
    v.nodes.forEach([&](const std::string& name, const registry::NodeEntryPtr& e) {
      if (int f = parseIp(e->node.address, a); f && targetName(name, a, f, zone_, 0, wire))
        add(a, f, wire);
      return true;
    });
    v.nodeServices.forEach([&](const std::string&, const registry::InstancePtr& i) {
      const auto& s = *i->service;
      int f = parseIp(s.address, a);
      std::string head;
      if (!f || !encodeName(s.name + ".service", head)) return true;
      head.pop_back();
      if (head.size() + zone_.dcDomainWire(0).size() <= kMaxNameWire)
        add(a, f, head + zone_.dcDomainWire(0));
      return true;
    });
    reverseAt_ = current_.get() == &v ? current_ : nullptr;
  }
  auto it = reverse_.find(std::string_view(reinterpret_cast<const char*>(addr), len));
  return it == reverse_.end() ? nullptr : &it->second;
}

bool Responder::answerReverse(Packet& p, const registry::View& v) {
  const auto* names = reverseNames(v, p.m.addr, p.m.addrLen);
  if (!names) return false;
  uint16_t qt = p.q.qtype;
  if (qt != type::kPtr && qt != type::kAny) {
    negative(p, v, rcode::kNoError);
    return true;
  }
  for (const auto& name : *names) {
    if (!p.record([&] {
          p.w.rrHeaderPtr(kHeaderSize, type::kPtr, kClassIn, cfg_.nodeTtl,
                          static_cast<uint16_t>(name.size()));
          p.w.bytes(name.data(), name.size());
        }))
      break;
    ++p.an;
  }
  return true;
}

}  // namespace cairn::dns
