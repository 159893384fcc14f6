// SPIFFE IDs of mesh services, as Consul writes them:
//   spiffe://<trust-domain>/ns/<namespace>/dc/<datacenter>/svc/<service>
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::registry {

struct SpiffeServiceId {
  std::string trustDomain;
  std::string ns = "default";
  std::string datacenter;
  std::string service;
};

std::string spiffeServiceUri(const SpiffeServiceId& id);
// nullopt unless `uri` has exactly that shape (trust domain lower-cased).
std::optional<SpiffeServiceId> parseSpiffeServiceUri(std::string_view uri);

}  // namespace cairn::registry
