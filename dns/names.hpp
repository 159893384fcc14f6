// Which name a query asks about: the forms of Consul's DNS interface under
// the configured domain and alt domain, plus reverse (PTR) names. Pure
// classification of the lower-cased question name; no catalog access.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "dns/query.hpp"

namespace cairn::dns {

enum class NameKind : uint8_t {
  kOutside,   // not under any of our domains, and not a reverse name
  kApex,      // <domain>: SOA, NS
  kEmpty,     // an empty non-terminal (service.<domain>, <dc>.<domain>, ...): NODATA
  kService,   // [<tag>.]<svc>.service[.<dc>].<domain>, _<svc>._<tag|tcp|udp>.service...
  kNode,      // <node>.node[.<dc>].<domain>
  kAddr,      // <hex>.addr[.<dc>].<domain>
  kReverse,   // <a.b.c.d>.in-addr.arpa, <nibbles>.ip6.arpa
  kNxDomain,  // under our domain but no such name
};

struct NameMatch {
  NameKind kind = NameKind::kOutside;
  uint8_t domain = 0;        // index of the domain it is under (0 = domain, 1 = alt)
  std::string_view service;  // kService: lower-cased, views into the Query
  std::string_view tag;      // kService: "" when no tag filter
  // kNode: the node name, lower-cased, labels joined with '.'.
  char node[kMaxNameWire];
  uint8_t nodeLen = 0;
  // kAddr, kReverse: the address (4 or 16 bytes).
  uint8_t addr[16];
  uint8_t addrLen = 0;

  std::string_view nodeName() const { return {node, nodeLen}; }
};

struct ZoneConfig {
  std::string domain = "cairn.";
  std::string altDomain = "consul.";  // "" turns it off
  std::string datacenter = "dc1";
};

// The configured domains in wire form, and the classifier.
class Zone {
 public:
  // Fails when a domain is not a valid DNS name.
  static Result<Zone> create(const ZoneConfig& cfg);

  // Classifies q's (lower-cased) question name.
  void classify(const Query& q, NameMatch& m) const;

  size_t domainCount() const { return domains_.size(); }
  size_t domainLabels(size_t i) const { return domains_[i].labels.size(); }
  // Lower-case wire form of domain i, e.g. "\5cairn\0".
  const std::string& domainWire(size_t i) const { return domains_[i].wire; }
  // Lower-case wire form of "<dc>.<domain i>".
  const std::string& dcDomainWire(size_t i) const { return domains_[i].dcWire; }
  const std::string& datacenter() const { return dc_; }

 private:
  struct Domain {
    std::vector<std::string> labels;  // lower-case, leftmost first
    std::string wire;
    std::string dcWire;
  };
  Zone() = default;
  void classifyUnder(const Query& q, size_t nameLabels, NameMatch& m) const;
  static bool reverse(const Query& q, NameMatch& m);

  std::vector<Domain> domains_;      // by configured index
  std::vector<uint8_t> matchOrder_;  // most labels first, so a nested domain wins
  std::string dc_;
};

}  // namespace cairn::dns
