#include "client/api_paths.hpp"

#include "client/url.hpp"
#include "common/duration.hpp"

namespace cairn::client::paths {
namespace {

void add(std::string& target, std::string_view param) {
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += param;
}

std::string query(std::string target, const QueryOptions& o, bool tags, bool passing) {
  if (o.consistency == Consistency::kStale) add(target, "stale");
  if (o.consistency == Consistency::kConsistent) add(target, "consistent");
  if (tags) {
    for (const std::string& t : o.tags) add(target, "tag=" + escapeComponent(t));
  }
  if (passing && o.passing) add(target, "passing");
  if (o.index != 0) return withBlocking(target, o.index, o.wait);
  return target;
}

}  // namespace

std::string deregisterService(std::string_view serviceId) {
  return "/v1/agent/service/deregister/" + escapeComponent(serviceId);
}

std::string deregisterCheck(std::string_view checkId) {
  return "/v1/agent/check/deregister/" + escapeComponent(checkId);
}

std::string checkUpdate(std::string_view status, std::string_view checkId, std::string_view note) {
  std::string target = "/v1/agent/check/" + std::string(status) + "/" + escapeComponent(checkId);
  if (!note.empty()) target += "?note=" + escapeComponent(note);
  return target;
}

std::string checkUpdateWithOutput(std::string_view checkId) {
  return "/v1/agent/check/update/" + escapeComponent(checkId);
}

std::string catalogServices(const QueryOptions& o) {
  return query(std::string(kCatalogServices), o, false, false);
}

std::string catalogNodes(const QueryOptions& o) {
  return query(std::string(kCatalogNodes), o, false, false);
}

std::string catalogService(std::string_view name, const QueryOptions& o) {
  return query("/v1/catalog/service/" + escapeComponent(name), o, true, false);
}

std::string healthService(std::string_view name, const QueryOptions& o) {
  return query("/v1/health/service/" + escapeComponent(name), o, true, true);
}

std::string healthChecks(std::string_view service, const QueryOptions& o) {
  return query("/v1/health/checks/" + escapeComponent(service), o, false, false);
}

std::string healthState(std::string_view state, const QueryOptions& o) {
  return query("/v1/health/state/" + escapeComponent(state), o, false, false);
}

std::string withBlocking(std::string_view target, std::uint64_t index,
                         std::chrono::milliseconds wait) {
  // Drop an index= or wait= the target already has.
  std::string path(target.substr(0, target.find('?')));
  std::string out = path;
  if (path.size() < target.size()) {
    std::string_view rest = target.substr(path.size() + 1);
    while (!rest.empty()) {
      std::string_view param = rest.substr(0, rest.find('&'));
      rest.remove_prefix(std::min(rest.size(), param.size() + 1));
      if (param.substr(0, 6) == "index=" || param.substr(0, 5) == "wait=") continue;
      add(out, param);
    }
  }
  add(out, "index=" + std::to_string(index));
  if (wait.count() > 0) add(out, "wait=" + formatDuration(wait));
  return out;
}

}  // namespace cairn::client::paths
