#include "http/leaf_cache.hpp"

#include <algorithm>

#include "registry/ca_certs.hpp"
#include "registry/spiffe.hpp"

namespace cairn::http {

bool LeafCache::due(const Leaf& leaf, const registry::CaState& ca, int64_t now) {
  const registry::CaRoot* active = ca.active();
  return now >= leaf.renewAt() || !active || active->id != leaf.rootId;
}

Result<LeafCache::LeafPtr> LeafCache::get(const registry::CaState& ca,
                                          const std::string& datacenter, const std::string& service,
                                          int64_t now, int64_t ttlSeconds, uint64_t viewIndex) {
  const registry::CaRoot* active = ca.active();
  if (!active) return unavailable("the cluster's CA is not initialized yet");
  std::lock_guard lock(mu_);
  auto it = leaves_.find(service);
  if (it != leaves_.end() && !due(*it->second, ca, now)) return it->second;
  std::string uri = registry::spiffeServiceUri({ca.trustDomain(), "default", datacenter, service});
  auto cert =
      registry::signLeaf(active->rootCert, active->privateKey, {uri, service, now, ttlSeconds, 60});
  if (!cert.ok()) return cert.error();
  auto leaf = std::make_shared<Leaf>();
  leaf->service = service;
  leaf->serviceUri = std::move(uri);
  leaf->certPem = std::move(cert->certPem);
  leaf->keyPem = std::move(cert->keyPem);
  leaf->serialHex = std::move(cert->serialHex);
  leaf->rootId = active->id;
  leaf->validAfter = cert->notBefore;
  leaf->validBefore = cert->notAfter;
  leaf->issuedAt = now;
  lastIndex_ = std::max(lastIndex_ + 1, viewIndex + 1);
  leaf->index = lastIndex_;
  if (it == leaves_.end() && leaves_.size() >= maxEntries_) {
    // Full: forget the leaf signed longest ago (it is signed again if asked for).
    auto oldest = std::min_element(
        leaves_.begin(), leaves_.end(),
        [](const auto& a, const auto& b) { return a.second->index < b.second->index; });
    leaves_.erase(oldest);
  }
  leaves_[service] = leaf;
  return LeafPtr(leaf);
}

}  // namespace cairn::http
