// One answer being written: the writer, the section counts and the flags,
// and the helpers the answer builders share (SOA, negative answers).
// Internal to dns/.
#pragma once

#include "dns/names.hpp"
#include "dns/query.hpp"
#include "dns/responder.hpp"
#include "dns/wire.hpp"

namespace cairn::dns {

struct Responder::Packet {
  Packet(const Query& query, uint8_t* buf, size_t cap) : q(query), w(buf, cap) {}

  const Query& q;
  NameMatch m;
  Writer w;  // capacity: the answer's size limit less the OPT record
  bool tcp = false;
  uint16_t an = 0, ns = 0, ar = 0;
  bool tc = false;
  bool aa = true;
  uint8_t rcode = rcode::kNoError;
  // Offset of the matched domain's name in the packet (a suffix of the
  // question name, or a copy written later); 0 until known.
  size_t domOff = 0;

  size_t limit() const { return w.cap(); }

  // Runs write(); if it did not fit, drops what it wrote, sets TC and
  // returns false.
  template <typename F>
  bool record(F&& write) {
    size_t m0 = w.mark(), d0 = domOff;
    write();
    if (!w.overflow()) return true;
    w.rewind(m0);
    domOff = d0;
    tc = true;
    return false;
  }
  // Writes a pointer to the domain name, or the name itself (remembering
  // where) when none is in the packet yet.
  void domainRef(const Zone& zone) {
    if (domOff) {
      w.u16(static_cast<uint16_t>(0xC000 | domOff));
      return;
    }
    size_t at = w.pos();
    const std::string& wire = zone.domainWire(m.domain);
    if (w.bytes(wire.data(), wire.size()) && at <= 0x3FFF) domOff = at;
  }
};

}  // namespace cairn::dns
