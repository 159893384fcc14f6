// Precomputed wire records of one service, built once per catalog
// ServiceGroup (a new group object is published whenever anything a query
// of the service shows changes: instances, checks, node addresses and
// meta), so the per-query path only filters, orders and copies bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/config.hpp"
#include "dns/load_table.hpp"
#include "dns/names.hpp"
#include "registry/view.hpp"

namespace cairn::dns {

// One instance that may be returned (not critical; with only_passing, not
// warning either). Offsets index CachedService::bytes.
struct InstanceRecord {
  uint32_t weight = 1;
  uint32_t tagsBegin = 0, tagsEnd = 0;  // into CachedService::tags
  uint8_t family = 0;                   // 4, 6, or 0 when the address is a host name
  // The A/AAAA record, or for a host name the CNAME to it; owner compressed
  // to the question (0xC00C).
  uint32_t addrRr = 0;
  uint16_t addrLen = 0;
  // The SRV record per domain, owner compressed to the question.
  uint32_t srvRr[2] = {0, 0};
  uint16_t srvLen[2] = {0, 0};
  // The target's A/AAAA record for the additional section; its first two
  // bytes (the owner) are a placeholder the builder points at the SRV
  // target. glueLen 0: no glue (a host-name target).
  uint32_t glueRr = 0;
  uint16_t glueLen = 0;
  uint32_t targetId = 0;  // equal for instances that share a target
  // The node's meta as TXT records for the additional section of SRV
  // answers (txtLen bytes at txtRr, each record's owner a two-byte
  // placeholder for the node's name). txtLen 0: none, or turned off.
  // When the SRV target is not the node's name (an own address or a host
  // name), the name is at nodeNameRr per domain.
  uint32_t txtRr = 0;
  uint32_t txtLen = 0;
  bool targetIsNode = false;
  uint32_t nodeId = 0;  // equal for instances on the same node
  uint32_t nodeNameRr[2] = {0, 0};
  uint16_t nodeNameLen[2] = {0, 0};
  std::shared_ptr<const LoadSlot> load;  // set only for least-loaded ordering
};

struct CachedService {
  registry::ServiceGroupPtr group;  // the group this was built from
  std::vector<InstanceRecord> instances;
  std::vector<std::string> tags;  // lower-case
  std::string bytes;
  uint32_t targets = 0;  // number of distinct SRV targets
  uint32_t nodes = 0;    // number of distinct nodes (InstanceRecord::nodeId)
  uint32_t ttl = 0;
  uint64_t turn = 0;  // round-robin position; owned by the building thread

  bool hasTag(const InstanceRecord& r, std::string_view tag) const {
    for (uint32_t i = r.tagsBegin; i < r.tagsEnd; ++i)
      if (tags[i] == tag) return true;
    return false;
  }
};

// Builds the records of `group` (the service `name`, as the catalog spells
// it) against view `v`. `loads` may be null; slots are taken only when the
// configured order is least-loaded.
void buildService(const registry::View& v, const registry::ServiceGroupPtr& group,
                  std::string_view name, const AnswerConfig& cfg, const Zone& zone,
                  LoadTable* loads, CachedService& out);

// Node meta as one TXT character-string, as Consul writes it: "key=value"
// with the key escaped per RFC 1464 (` and = backquoted, and leading and
// trailing spaces) and ` doubled in the value; a key starting "rfc1035-"
// (any case) gives the bare value. Cut at 255 bytes. Writes into out and
// returns the length; does not allocate.
size_t metaTxt(std::string_view key, std::string_view value, char (&out)[255]);

// Parses an IPv4 or IPv6 text address into 4 or 16 bytes; returns the
// family (4, 6) or 0 when `text` is not an IP address.
int parseIp(const std::string& text, uint8_t out[16]);

// Writes `<node>.node.<dc>.<domain>` (or `<hex>.addr.<dc>.<domain>` when
// node is empty) in wire form into out. Returns false when it is not a
// valid DNS name.
bool targetName(std::string_view node, const uint8_t* addr, int family, const Zone& zone,
                size_t domain, std::string& out);

}  // namespace cairn::dns
