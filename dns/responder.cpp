#include "dns/responder.hpp"

#include <algorithm>

#include "dns/packet.hpp"

namespace cairn::dns {
namespace {

constexpr size_t kOptSize = 11;

// Header flags of an answer to q.
uint16_t answerFlags(const Query& q, bool aa, bool tc, bool ra, uint16_t rc) {
  uint16_t f = flag::kQr | static_cast<uint16_t>(q.opcode << 11) | (q.flags & flag::kRd) |
               (q.flags & flag::kCd) | (rc & 0xF);
  if (aa) f |= flag::kAa;
  if (tc) f |= flag::kTc;
  if (ra) f |= flag::kRa;
  return f;
}

void writeOpt(uint8_t* at, uint16_t udpSize, uint16_t rc) {
  at[0] = 0;  // root owner
  put16(at + 1, type::kOpt);
  put16(at + 3, udpSize);
  put32(at + 5, static_cast<uint32_t>(rc >> 4) << 24);  // extended rcode, version 0, DO 0
  put16(at + 9, 0);
}

// The answer's size limit: 512 without EDNS, the client's EDNS size
// clamped to [512, ours] with it, 65535 over TCP; never more than out.
size_t sizeLimit(const Query& q, bool tcp, uint16_t ours, size_t outSize) {
  size_t lim = kMaxUdpPlain;
  if (tcp)
    lim = kMaxMessage;
  else if (q.edns)
    lim = std::clamp<size_t>(q.ednsUdpSize, kMaxUdpPlain, ours);
  return std::min(lim, outSize);
}

}  // namespace

Responder::Responder(const AnswerConfig& cfg, const Zone& zone, const registry::WatchHub& hub,
                     LoadTable* loads, uint64_t seed, ThreadCounters* counters)
    : cfg_(cfg), zone_(zone), hub_(hub), loads_(loads), counters_(counters), rng_(seed) {
  std::string head;
  if (!cfg.nodeName.empty() && encodeName(cfg.nodeName + ".node." + zone.datacenter(), head)) {
    head.pop_back();
    nsHead_ = head;
  }
  items_.reserve(64);
}

size_t udpAnswerLimit(const AnswerConfig& cfg, std::span<const uint8_t> query) {
  Query q;
  if (parseQuery(query, q) != ParseStatus::kOk) return kMaxUdpPlain;
  return sizeLimit(q, false, cfg.maxUdpSize, kMaxMessage);
}

size_t writeErrorAnswer(const AnswerConfig& cfg, std::span<const uint8_t> query, uint8_t rc,
                        std::span<uint8_t> out) {
  Query q;
  auto st = parseQuery(query, q);
  if (st == ParseStatus::kDrop || out.size() < kMaxUdpPlain) return 0;
  uint16_t code = st == ParseStatus::kBadVers ? rcode::kBadVers : rc;
  Writer w(out.data(), out.size());
  w.bytes("\0\0\0\0\0\0\0\0\0\0\0\0", kHeaderSize);
  bool question = q.hasQuestion && st != ParseStatus::kNotImp;
  if (question) {
    w.bytes(q.name, q.nameLen);
    w.u16(q.qtype);
    w.u16(q.qclass);
  }
  bool opt = q.edns && st != ParseStatus::kFormErr;
  if (opt) {
    writeOpt(out.data() + w.pos(), cfg.maxUdpSize, code);
    w.rewind(w.pos() + kOptSize);
  }
  put16(out.data(), q.id);
  put16(out.data() + 2, answerFlags(q, false, false, cfg.recursion, code));
  put16(out.data() + 4, question ? 1 : 0);
  put16(out.data() + 10, opt ? 1 : 0);
  return w.pos();
}

Responder::Outcome Responder::respond(std::span<const uint8_t> query, bool tcp,
                                      std::span<uint8_t> out) {
  return respond(hub_.view(), query, tcp, out);
}

Responder::Outcome Responder::respond(const registry::ViewPtr& viewPtr,
                                      std::span<const uint8_t> query, bool tcp,
                                      std::span<uint8_t> out) {
  Query q;
  Outcome o = cfg_.viewFilter ? answer(cfg_.viewFilter(viewPtr), q, query, tcp, out)
                              : answer(viewPtr, q, query, tcp, out);
  if (counters_) count(q, o, tcp);
  return o;
}

void Responder::count(const Query& q, const Outcome& o, bool tcp) {
  ThreadCounters& c = *counters_;
  c.queries[tcp ? 1 : 0].inc();
  if (q.hasQuestion) c.qtypes[qtypeSlot(q.qtype)].inc();
  bool sent = o.action == Action::kReply && o.len;
  if (o.action == Action::kForward) {
    c.forwarded.inc();
  } else if (!sent) {
    c.dropped.inc();
  } else {
    c.rcodes[rcodeSlot(o.rcode)].inc();
    if (o.truncated) c.truncated.inc();
  }
  if (o.action == Action::kDrop || (sent && o.rcode == rcode::kFormErr)) c.malformed.inc();
}

Responder::Outcome Responder::answer(const registry::ViewPtr& viewPtr, Query& q,
                                     std::span<const uint8_t> query, bool tcp,
                                     std::span<uint8_t> out) {
  auto error = [&](uint16_t rc) {
    return Outcome{Action::kReply, writeErrorAnswer(cfg_, query, static_cast<uint8_t>(rc), out), rc,
                   false};
  };
  auto st = parseQuery(query, q);
  if (st == ParseStatus::kDrop) return {};
  if (st == ParseStatus::kBadVers) return error(rcode::kBadVers);
  if (st != ParseStatus::kOk)
    return error(st == ParseStatus::kNotImp ? rcode::kNotImp : rcode::kFormErr);
  if (q.qtype == type::kOpt) return error(rcode::kFormErr);
  if ((q.qclass != kClassIn && q.qclass != kClassAny) || q.qtype == type::kAxfr ||
      q.qtype == type::kIxfr)
    return error(rcode::kRefused);

  size_t limit = sizeLimit(q, tcp, cfg_.maxUdpSize, out.size());
  Packet p(q, out.data(), limit - (q.edns ? kOptSize : 0));
  p.tcp = tcp;
  zone_.classify(q, p.m);
  if (p.m.kind == NameKind::kOutside) {
    if (cfg_.recursion) return {Action::kForward, 0};
    return error(rcode::kRefused);
  }
  p.w.bytes("\0\0\0\0\0\0\0\0\0\0\0\0", kHeaderSize);
  p.w.bytes(q.name, q.nameLen);
  p.w.u16(q.qtype);
  p.w.u16(q.qclass);
  if (p.m.kind != NameKind::kReverse)
    p.domOff = kHeaderSize + q.labelOff[q.labelCount - zone_.domainLabels(p.m.domain)];

  current_ = viewPtr;
  const registry::ViewPtr& view = current_;
  switch (p.m.kind) {
    case NameKind::kService:
      answerService(p, *view);
      break;
    case NameKind::kNode:
      answerNode(p, *view);
      break;
    case NameKind::kAddr:
      answerAddr(p, *view);
      break;
    case NameKind::kApex:
      answerApex(p, *view);
      break;
    case NameKind::kEmpty:
      negative(p, *view, rcode::kNoError);
      break;
    case NameKind::kNxDomain:
      negative(p, *view, rcode::kNxDomain);
      break;
    case NameKind::kReverse:
      p.m.domain = 0;
      if (!answerReverse(p, *view)) {
        if (cfg_.recursion) return {Action::kForward, 0};
        negative(p, *view, rcode::kNxDomain);
      }
      break;
    case NameKind::kOutside:
      break;
  }
  if (q.edns) {
    writeOpt(out.data() + p.w.pos(), cfg_.maxUdpSize, 0);
    p.w.rewind(p.w.pos() + kOptSize);
    ++p.ar;
  }
  put16(out.data(), q.id);
  put16(out.data() + 2, answerFlags(q, p.aa, p.tc, cfg_.recursion, p.rcode));
  put16(out.data() + 4, 1);
  put16(out.data() + 6, p.an);
  put16(out.data() + 8, p.ns);
  put16(out.data() + 10, p.ar);
  return {Action::kReply, p.w.pos(), p.rcode, p.tc};
}

void Responder::negative(Packet& p, const registry::View& v, uint8_t rc) {
  p.rcode = rc;
  if (writeSoa(p, v)) ++p.ns;
}

bool Responder::writeSoa(Packet& p, const registry::View& v) {
  return p.record([&] {
    p.domainRef(zone_);
    p.w.u16(type::kSoa);
    p.w.u16(kClassIn);
    p.w.u32(0);  // TTL 0, as Consul: negative answers are not cached
    size_t rdlenAt = p.w.pos();
    p.w.u16(0);
    p.w.bytes("\2ns", 3);
    p.domainRef(zone_);
    p.w.bytes("\12hostmaster", 11);
    p.domainRef(zone_);
    p.w.u32(static_cast<uint32_t>(v.index));  // serial
    p.w.u32(3600);                            // refresh
    p.w.u32(600);                             // retry
    p.w.u32(86400);                           // expire
    p.w.u32(0);                               // minimum (negative TTL)
    if (!p.w.overflow()) p.w.set16(rdlenAt, static_cast<uint16_t>(p.w.pos() - rdlenAt - 2));
  });
}

// NS for the apex: this server's node name, with its address as glue.
bool Responder::writeNs(Packet& p, const registry::View& v, bool glue) {
  size_t target = 0;
  bool ok = p.record([&] {
    p.domainRef(zone_);
    p.w.u16(type::kNs);
    p.w.u16(kClassIn);
    p.w.u32(cfg_.nodeTtl);
    size_t rdlenAt = p.w.pos();
    p.w.u16(0);
    target = p.w.pos();
    if (nsHead_.empty())
      p.w.bytes("\2ns", 3);
    else
      p.w.bytes(nsHead_.data(), nsHead_.size());
    p.domainRef(zone_);
    if (!p.w.overflow()) p.w.set16(rdlenAt, static_cast<uint16_t>(p.w.pos() - rdlenAt - 2));
  });
  if (!ok || !glue || nsHead_.empty() || target > 0x3FFF) return ok;
  const auto* n = v.nodes.find(cfg_.nodeName);
  uint8_t addr[16];
  int family = n ? parseIp((*n)->node.address, addr) : 0;
  if (!family) return ok;
  if (p.record([&] {
        p.w.rrHeaderPtr(target, family == 4 ? type::kA : type::kAaaa, kClassIn, cfg_.nodeTtl,
                        family == 4 ? 4 : 16);
        p.w.bytes(addr, family == 4 ? 4 : 16);
      }))
    ++p.ar;
  return ok;
}

void Responder::answerApex(Packet& p, const registry::View& v) {
  uint16_t t = p.q.qtype;
  if (t == type::kSoa || t == type::kAny) {
    if (writeSoa(p, v)) ++p.an;
    if (t == type::kAny && writeNs(p, v, true))
      ++p.an;
    else if (t == type::kSoa && writeNs(p, v, true))
      ++p.ns;
    return;
  }
  if (t == type::kNs) {
    if (writeNs(p, v, true)) ++p.an;
    return;
  }
  negative(p, v, rcode::kNoError);
}

void Responder::answerAddr(Packet& p, const registry::View& v) {
  uint16_t t = p.q.qtype;
  bool v4 = p.m.addrLen == 4;
  if (t != type::kAny && t != (v4 ? type::kA : type::kAaaa)) return negative(p, v, rcode::kNoError);
  if (p.record([&] {
        p.w.rrHeaderPtr(kHeaderSize, v4 ? type::kA : type::kAaaa, kClassIn, cfg_.nodeTtl,
                        p.m.addrLen);
        p.w.bytes(p.m.addr, p.m.addrLen);
      }))
    ++p.an;
}

}  // namespace cairn::dns
