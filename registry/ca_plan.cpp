#include "registry/ca_plan.hpp"

#include "registry/ca_certs.hpp"

namespace cairn::registry {
namespace {

Result<CaRoot> newRoot(const std::string& clusterId, int64_t now, uint64_t generation) {
  std::string td = clusterId + ".consul";
  // Roots of one cluster need distinct subjects, or chains mix them up.
  std::string cn = "pri-" + std::to_string(generation) + "-" + std::to_string(now) + ".cairn.ca." +
                   clusterId.substr(0, 8) + ".consul";
  auto c = makeRootCa(td, cn, now, kRootTtlSeconds);
  if (!c.ok()) return c.error();
  CaRoot r;
  r.id = c->fingerprint;
  r.name = "Cairn CA Primary Cert";
  r.serialNumber = c->serial;
  r.signingKeyId = c->subjectKeyId;
  r.notBefore = c->notBefore;
  r.notAfter = c->notAfter;
  r.rootCert = std::move(c->certPem);
  r.privateKey = std::move(c->keyPem);
  r.active = true;
  return r;
}

}  // namespace

Result<CaSetCommand> planBootstrap(const std::string& clusterId, int64_t now) {
  auto r = newRoot(clusterId, now, 1);
  if (!r.ok()) return r.error();
  CaSetCommand c;
  c.state.clusterId = clusterId;
  c.state.roots.push_back(std::move(r).value());
  c.expectModifyIndex = 0;
  return c;
}

Result<CaSetCommand> planRotation(const CaState& current, int64_t now) {
  const CaRoot* old = current.active();
  if (!old) return invalidArgument("no active CA root to rotate from");
  auto r = newRoot(current.clusterId, now, current.roots.size() + 1);
  if (!r.ok()) return r.error();
  auto cross = crossSign(r->rootCert, old->rootCert, old->privateKey, now);
  if (!cross.ok()) return cross.error();
  r->intermediateCerts.push_back(std::move(cross->certPem));
  CaSetCommand c;
  c.state = current;
  for (auto& root : c.state.roots)
    if (root.active) {
      root.active = false;
      root.rotatedOutAt = now;
    }
  c.state.roots.push_back(std::move(r).value());
  c.expectModifyIndex = current.modifyIndex;
  return c;
}

std::optional<CaSetCommand> planPrune(const CaState& current, int64_t now, int64_t leafTtlSeconds) {
  CaSetCommand c;
  c.state = current;
  c.state.roots.clear();
  for (const auto& r : current.roots)
    if (r.active || r.rotatedOutAt == 0 || now < r.rotatedOutAt + leafTtlSeconds + 3600)
      c.state.roots.push_back(r);
  if (c.state.roots.size() == current.roots.size()) return std::nullopt;
  c.expectModifyIndex = current.modifyIndex;
  return c;
}

}  // namespace cairn::registry
