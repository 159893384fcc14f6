// Test helpers for dns/: building query packets by hand and a catalog with
// nodes, services and checks on an in-memory store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dns/wire.hpp"
#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"

namespace cairn::dns::testing {

// A query for (name, qtype) with id; EDNS OPT when ednsSize > 0.
inline std::vector<uint8_t> makeQuery(const std::string& name, uint16_t qtype,
                                      uint16_t ednsSize = 0, uint16_t id = 0x1234,
                                      uint16_t qclass = kClassIn) {
  std::vector<uint8_t> q(kHeaderSize, 0);
  put16(q.data(), id);
  put16(q.data() + 2, flag::kRd);
  put16(q.data() + 4, 1);
  put16(q.data() + 10, ednsSize ? 1 : 0);
  std::string wire;
  encodeName(name, wire, false);
  q.insert(q.end(), wire.begin(), wire.end());
  uint8_t tail[4];
  put16(tail, qtype);
  put16(tail + 2, qclass);
  q.insert(q.end(), tail, tail + 4);
  if (ednsSize) {
    uint8_t opt[11] = {0};
    put16(opt + 1, type::kOpt);
    put16(opt + 3, ednsSize);
    q.insert(q.end(), opt, opt + 11);
  }
  return q;
}

// A catalog to register things in, one applied command at a time.
class TestCatalog {
 public:
  TestCatalog() : cat_(std::move(registry::Catalog::open(store_).value())) {}

  void apply(const registry::Command& c) {
    Status st = cat_->apply(++idx_, c);
    CAIRN_CHECK(st.ok(), st.ok() ? "" : st.error().message.c_str());
    CAIRN_CHECK(cat_->flush().ok(), "flush");
  }
  // Registers node (address) with service instance id of `name`.
  void instance(const std::string& node, const std::string& addr, const std::string& name,
                const std::string& id, int port, std::vector<std::string> tags = {},
                registry::Weights w = {}, const std::string& svcAddr = "") {
    registry::RegisterCommand r;
    r.node.name = node;
    r.node.address = addr;
    r.node.datacenter = "dc1";
    registry::Service s;
    s.name = name;
    s.id = id;
    s.port = port;
    s.tags = std::move(tags);
    s.weights = w;
    s.address = svcAddr;
    r.service = s;
    apply(r);
  }
  // Sets a service check's status (registering the check).
  void check(const std::string& node, const std::string& serviceId, registry::HealthStatus st) {
    registry::RegisterCommand r;
    r.node.name = node;
    r.skipNodeUpdate = true;
    registry::Check c;
    c.node = node;
    c.checkId = "chk:" + serviceId;
    c.name = "check";
    c.serviceId = serviceId;
    c.status = st;
    r.checks.push_back(c);
    apply(r);
  }
  registry::WatchHub& hub() { return cat_->watches(); }

 private:
  registry::testing::MemoryStore store_;
  std::unique_ptr<registry::Catalog> cat_;
  uint64_t idx_ = 0;
};

}  // namespace cairn::dns::testing
