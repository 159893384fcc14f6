#include "client/api_paths.hpp"

#include "client/url.hpp"

namespace cairn::client::paths {

std::string deregisterService(std::string_view serviceId) {
  return "/v1/agent/service/deregister/" + escapeComponent(serviceId);
}

std::string catalogService(std::string_view name) {
  return "/v1/catalog/service/" + escapeComponent(name);
}

std::string healthService(std::string_view name, bool passingOnly) {
  std::string target = "/v1/health/service/" + escapeComponent(name);
  if (passingOnly) target += "?passing";
  return target;
}

std::string checkUpdate(std::string_view status, std::string_view checkId, std::string_view note) {
  std::string target = "/v1/agent/check/" + std::string(status) + "/" + escapeComponent(checkId);
  if (!note.empty()) target += "?note=" + escapeComponent(note);
  return target;
}

}  // namespace cairn::client::paths
