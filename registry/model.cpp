#include "registry/model.hpp"

#include <algorithm>
#include <cctype>

namespace cairn::registry {

std::string_view toString(HealthStatus s) {
  switch (s) {
    case HealthStatus::kPassing:
      return "passing";
    case HealthStatus::kWarning:
      return "warning";
    case HealthStatus::kCritical:
      return "critical";
  }
  return "critical";
}

std::optional<HealthStatus> parseHealthStatus(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "passing") return HealthStatus::kPassing;
  if (lower == "warning") return HealthStatus::kWarning;
  if (lower == "critical") return HealthStatus::kCritical;
  return std::nullopt;
}

bool Node::sameContent(const Node& o) const {
  return name == o.name && id == o.id && address == o.address && datacenter == o.datacenter &&
         taggedAddresses == o.taggedAddresses && meta == o.meta;
}

bool Service::sameContent(const Service& o) const {
  return node == o.node && id == o.id && name == o.name && tags == o.tags && address == o.address &&
         taggedAddresses == o.taggedAddresses && port == o.port && meta == o.meta &&
         weights == o.weights && enableTagOverride == o.enableTagOverride && kind == o.kind &&
         proxy == o.proxy && connectNative == o.connectNative;
}

bool Check::sameContent(const Check& o) const {
  return node == o.node && checkId == o.checkId && name == o.name && status == o.status &&
         notes == o.notes && output == o.output && serviceId == o.serviceId &&
         serviceName == o.serviceName && serviceTags == o.serviceTags && type == o.type &&
         definition == o.definition;
}

}  // namespace cairn::registry
