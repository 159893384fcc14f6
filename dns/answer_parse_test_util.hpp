// Parses answers with ldns, a library independent of ours, into text lines
// tests can compare exactly.
#pragma once

#include <ldns/ldns.h>

#include <span>
#include <string>
#include <vector>

namespace cairn::dns::testing {

struct Parsed {
  bool ok = false;
  int rcode = -1;  // including the EDNS extended bits
  bool aa = false, tc = false, ra = false, rd = false, qr = false;
  uint16_t id = 0;
  int qdcount = 0;
  std::vector<std::string> answer, authority, additional;  // "owner ttl IN TYPE rdata"
  bool edns = false;
  uint16_t ednsSize = 0;
};

inline std::vector<std::string> lines(const ldns_rr_list* l) {
  std::vector<std::string> out;
  for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); ++i) {
    char* s = ldns_rr2str(ldns_rr_list_rr(l, i));
    std::string line(s);
    free(s);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    for (auto& c : line)
      if (c == '\t') c = ' ';
    out.push_back(line);
  }
  return out;
}

inline Parsed parseAnswer(std::span<const uint8_t> bytes) {
  Parsed p;
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, bytes.data(), bytes.size()) != LDNS_STATUS_OK) return p;
  p.ok = true;
  p.rcode = ldns_pkt_get_rcode(pkt) | (ldns_pkt_edns_extended_rcode(pkt) << 4);
  p.aa = ldns_pkt_aa(pkt);
  p.tc = ldns_pkt_tc(pkt);
  p.ra = ldns_pkt_ra(pkt);
  p.rd = ldns_pkt_rd(pkt);
  p.qr = ldns_pkt_qr(pkt);
  p.id = ldns_pkt_id(pkt);
  p.qdcount = ldns_pkt_qdcount(pkt);
  p.answer = lines(ldns_pkt_answer(pkt));
  p.authority = lines(ldns_pkt_authority(pkt));
  p.additional = lines(ldns_pkt_additional(pkt));
  p.edns = ldns_pkt_edns(pkt);
  p.ednsSize = ldns_pkt_edns_udp_size(pkt);
  ldns_pkt_free(pkt);
  return p;
}

}  // namespace cairn::dns::testing
