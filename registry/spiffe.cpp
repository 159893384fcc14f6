#include "registry/spiffe.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace cairn::registry {

std::string spiffeServiceUri(const SpiffeServiceId& id) {
  return "spiffe://" + id.trustDomain + "/ns/" + id.ns + "/dc/" + id.datacenter + "/svc/" +
         id.service;
}

std::optional<SpiffeServiceId> parseSpiffeServiceUri(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.size() < kScheme.size()) return std::nullopt;
  std::string scheme(uri.substr(0, kScheme.size()));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != kScheme) return std::nullopt;
  uri.remove_prefix(kScheme.size());
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = uri.find('/');
    parts.push_back(uri.substr(0, slash));
    if (slash == std::string_view::npos) break;
    uri.remove_prefix(slash + 1);
  }
  if (parts.size() != 7 || parts[1] != "ns" || parts[3] != "dc" || parts[5] != "svc")
    return std::nullopt;
  for (auto p : parts)
    if (p.empty()) return std::nullopt;
  SpiffeServiceId id;
  id.trustDomain = std::string(parts[0]);
  std::transform(id.trustDomain.begin(), id.trustDomain.end(), id.trustDomain.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  id.ns = std::string(parts[2]);
  id.datacenter = std::string(parts[4]);
  id.service = std::string(parts[6]);
  return id;
}

}  // namespace cairn::registry
