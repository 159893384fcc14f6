#include "server/config_services.hpp"

#include <boost/json.hpp>

#include "http/decode.hpp"
#include "http/json_fields.hpp"

namespace cairn::server {
namespace json = boost::json;

Result<ConfigDefinitions> decodeConfigDefinitions(const std::vector<std::string>& services,
                                                  const std::vector<std::string>& checks,
                                                  const std::string& node) {
  ConfigDefinitions out;
  for (const auto& text : services) {
    auto v = http::parseJson(text);
    if (!v.ok() || !v->is_object()) return invalidArgument("config service: not an object");
    auto reg = http::decodeServiceDefinition(v->get_object());
    if (!reg.ok()) return invalidArgument("config service: " + reg.error().message);
    registry::RegisterCommand cmd;
    cmd.node.name = node;
    cmd.skipNodeUpdate = true;
    cmd.service = reg->service;
    cmd.checks = reg->checks;
    if (!out.serviceIds.insert(reg->service.id).second)
      return invalidArgument("config service: duplicate ID \"" + reg->service.id + "\"");
    out.registrations.push_back(std::move(cmd));
  }
  for (const auto& text : checks) {
    auto v = http::parseJson(text);
    if (!v.ok() || !v->is_object()) return invalidArgument("config check: not an object");
    auto c = http::decodeCheckDefinition(v->get_object(), "check.", true);
    if (!c.ok()) return invalidArgument("config " + c.error().message);
    if (c->name.empty()) return invalidArgument("config check: missing name");
    if (c->checkId.empty()) c->checkId = c->name;
    registry::RegisterCommand cmd;
    cmd.node.name = node;
    cmd.skipNodeUpdate = true;
    out.checkIds.insert(c->checkId);
    cmd.checks.push_back(std::move(*c));
    out.registrations.push_back(std::move(cmd));
  }
  return out;
}

std::string encodeIdSet(const std::set<std::string>& ids) {
  json::array a;
  for (const auto& id : ids) a.emplace_back(id);
  return json::serialize(a);
}

std::set<std::string> decodeIdSet(const std::string& text) {
  std::set<std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& e : v.get_array())
    if (e.is_string()) out.emplace(e.get_string());
  return out;
}

Status refuseScriptChecks(const ConfigDefinitions& defs, bool enabled) {
  if (enabled) return {};
  for (const auto& r : defs.registrations)
    for (const auto& c : r.checks)
      if (c.type == "script")
        return invalidArgument("check \"" + c.checkId +
                               "\" in the config is a script check, but script checks are "
                               "disabled: set enable_script_checks = true to run it");
  return {};
}

}  // namespace cairn::server
