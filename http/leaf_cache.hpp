// LeafCache: the leaf certificate this server last signed for each service,
// so repeated GET /v1/agent/connect/ca/leaf/<service> calls return the same
// certificate until it is due for renewal. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.hpp"
#include "registry/connect.hpp"

namespace cairn::http {

class LeafCache {
 public:
  struct Leaf {
    std::string service;
    std::string serviceUri;  // the SPIFFE ID, the certificate's one URI SAN
    std::string certPem;
    std::string keyPem;
    std::string serialHex;
    std::string rootId;  // the root that signed it
    int64_t validAfter = 0;
    int64_t validBefore = 0;
    int64_t issuedAt = 0;  // validAfter + the backdate
    uint64_t index = 0;    // grows with every leaf this cache signs

    // Half way through its life from when it was signed (Consul renews
    // between 60 and 90 %; the backdate is not counted, or a short TTL
    // would be due at once).
    int64_t renewAt() const { return issuedAt + (validBefore - issuedAt) / 2; }
  };
  using LeafPtr = std::shared_ptr<const Leaf>;

  explicit LeafCache(size_t maxEntries = 4096) : maxEntries_(maxEntries) {}

  // True when `leaf` should be replaced at `now`: past renewAt(), or signed
  // by another root than the active one.
  static bool due(const Leaf& leaf, const registry::CaState& ca, int64_t now);

  // The cached leaf of `service`, or a new one signed by the active root
  // when there is none or it is due. `viewIndex` is the catalog index at the
  // call (a new leaf's index is above it and above every earlier leaf's).
  Result<LeafPtr> get(const registry::CaState& ca, const std::string& datacenter,
                      const std::string& service, int64_t now, int64_t ttlSeconds,
                      uint64_t viewIndex);

 private:
  std::mutex mu_;
  std::map<std::string, LeafPtr> leaves_;
  size_t maxEntries_;
  uint64_t lastIndex_ = 0;
};

}  // namespace cairn::http
