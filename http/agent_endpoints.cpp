// /v1/agent/*: services and checks that belong to this server's node.
#include <boost/json.hpp>

#include "http/api.hpp"
#include "http/decode.hpp"
#include "http/encode.hpp"
#include "http/json_fields.hpp"

namespace cairn::http {
namespace json = boost::json;
using registry::instanceKey;

namespace {

bool isLoopback(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.empty();
}

Response okEmpty(uint64_t) {
  return Response::json("");
}

}  // namespace

Outcome Api::agentSelf(const Request&, const std::string&) {
  json::object cfg{{"Datacenter", self_.datacenter}, {"NodeName", self_.nodeName},
                   {"NodeID", self_.nodeId},         {"Server", true},
                   {"Version", self_.version},       {"Revision", ""}};
  json::object member{{"Name", self_.nodeName},
                      {"Addr", self_.address},
                      {"Port", self_.serverPort},
                      {"Tags", json::object{{"role", "consul"},
                                            {"dc", self_.datacenter},
                                            {"port", std::to_string(self_.serverPort)},
                                            {"id", self_.nodeId},
                                            {"vsn", "2"}}},
                      {"Status", 1}};
  json::object out{{"Config", std::move(cfg)},
                   {"Member", std::move(member)},
                   {"Meta", json::object()},
                   {"Coord", nullptr},
                   {"Stats", json::object()}};
  return Response::json(serialize(out));
}

Outcome Api::agentServices(const Request& req, const std::string&) {
  return query(
      req, {registry::nodeWatchKey(self_.nodeName)},
      [this](const View& v) { return v.nodeIndex(self_.nodeName); },
      [this](const View& v) {
        json::object out;
        v.nodeServices.forEachPrefix(instanceKey(self_.nodeName, ""),
                                     [&](const std::string&, const registry::InstancePtr& i) {
                                       out[i->service->id] =
                                           agentServiceJson(*i->service, self_.datacenter);
                                       return true;
                                     });
        return Response::json(serialize(out));
      });
}

Outcome Api::agentService(const Request& req, const std::string& id) {
  return query(
      req, {registry::nodeWatchKey(self_.nodeName)},
      [this](const View& v) { return v.nodeIndex(self_.nodeName); },
      [this, id](const View& v) {
        const auto* inst = v.nodeServices.find(instanceKey(self_.nodeName, id));
        if (!inst) return Response::text(404, "unknown service ID: " + id);
        auto o = agentServiceJson(*(*inst)->service, self_.datacenter);
        o["ContentHash"] = std::to_string((*inst)->service->modifyIndex);
        return Response::json(serialize(o));
      });
}

std::string Api::scriptChecksRefused(const std::vector<registry::Check>& checks) const {
  if (opts_.enableScriptChecks) return "";
  for (const auto& c : checks)
    if (c.type == "script")
      return "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' "
             "to true (check \"" +
             c.checkId + "\")";
  return "";
}

Outcome Api::agentServiceRegister(const Request& req, const std::string&) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  auto reg = decodeServiceDefinition(*obj);
  if (!reg.ok()) return errorResponse(reg.error());
  if (auto why = scriptChecksRefused(reg->checks); !why.empty()) return Response::text(400, why);
  registry::RegisterCommand cmd;
  cmd.node.name = self_.nodeName;
  cmd.skipNodeUpdate = true;
  // No per-VM agent: the caller is the service's host, unless it is local.
  if (reg->service.address.empty() && !isLoopback(req.remoteAddr))
    reg->service.address = req.remoteAddr;
  registry::RegisterCommand defined = cmd;
  defined.service = reg->service;
  defined.checks = reg->checks;
  // Re-registering keeps the current status of an unchanged check, as the
  // instance's health should not flap because its definition was re-sent.
  auto view = hub_.view();
  for (auto& c : reg->checks) {
    const auto* old = view->checks.find(instanceKey(self_.nodeName, c.checkId));
    if (old && (*old)->definition == c.definition) {
      c.status = (*old)->status;
      c.output = (*old)->output;
    }
  }
  cmd.service = reg->service;
  cmd.checks = reg->checks;
  return agentRegister(std::move(cmd), std::move(defined));
}

Outcome Api::agentRegister(registry::RegisterCommand cmd, registry::RegisterCommand defined) {
  if (!opts_.agentLocal) return write(cmd, okEmpty);
  return write(cmd, [sink = opts_.agentLocal, defined = std::move(defined)](uint64_t index) {
    sink->registered(defined);
    return okEmpty(index);
  });
}

Outcome Api::agentDeregister(const std::string& serviceId, const std::string& checkId) {
  registry::DeregisterCommand cmd{self_.nodeName, serviceId, checkId};
  if (!opts_.agentLocal) return write(cmd, okEmpty);
  uint64_t at = hub_.view()->index;
  return write(cmd, okEmpty, [&] { opts_.agentLocal->deregistering(serviceId, checkId, at); });
}

bool Api::agentHasService(const std::string& id) const {
  return hub_.view()->nodeServices.find(instanceKey(self_.nodeName, id)) ||
         (opts_.agentLocal && opts_.agentLocal->knows(id, ""));
}

bool Api::agentHasCheck(const std::string& id) const {
  return hub_.view()->checks.find(instanceKey(self_.nodeName, id)) ||
         (opts_.agentLocal && opts_.agentLocal->knows("", id));
}

Outcome Api::agentServiceDeregister(const Request&, const std::string& id) {
  if (!agentHasService(id))
    return Response::text(404,
                          "Unknown service ID \"" + id +
                              "\". Ensure that the service ID is passed, not the service name.");
  return agentDeregister(id, "");
}

namespace {

// ?enable=true|false, or an error answer.
Result<bool> maintenanceEnable(const Request& req) {
  const auto* enable = req.param("enable");
  if (!enable) return invalidArgument("Missing value for enable");
  if (*enable != "true" && *enable != "false")
    return invalidArgument("Invalid value for enable: \"" + *enable + "\"");
  return *enable == "true";
}

// Maintenance mode is a critical check of its own (as Consul does it), so
// that every health view, DNS included, leaves the instance or node out.
registry::Check maintenanceCheck(const Request& req, std::string checkId, std::string name,
                                 std::string serviceId, std::string_view what) {
  registry::Check c;
  c.checkId = std::move(checkId);
  c.name = std::move(name);
  const auto* reason = req.param("reason");
  c.notes = reason && !reason->empty()
                ? *reason
                : "Maintenance mode is enabled for this " + std::string(what) +
                      ", but no reason was provided. This is a default "
                      "message.";
  c.serviceId = std::move(serviceId);
  c.status = registry::HealthStatus::kCritical;
  c.type = "maintenance";
  return c;
}

}  // namespace

Outcome Api::agentServiceMaintenance(const Request& req, const std::string& id) {
  auto enable = maintenanceEnable(req);
  if (!enable.ok()) return Response::text(400, enable.error().message);
  bool known = *enable ? hub_.view()->nodeServices.find(instanceKey(self_.nodeName, id)) != nullptr
                       : agentHasService(id);
  if (!known) return Response::text(404, "Unknown service ID \"" + id + "\"");
  std::string checkId = "_service_maintenance:" + id;
  if (!*enable) return agentDeregister("", checkId);
  registry::RegisterCommand cmd;
  cmd.node.name = self_.nodeName;
  cmd.skipNodeUpdate = true;
  cmd.checks.push_back(
      maintenanceCheck(req, std::move(checkId), "Service Maintenance Mode", id, "service"));
  return agentRegister(cmd, cmd);
}

// PUT /v1/agent/maintenance?enable=true|false&reason=: the whole node (this
// agent's) leaves every health view, each of its services with it.
Outcome Api::agentMaintenance(const Request& req, const std::string&) {
  auto enable = maintenanceEnable(req);
  if (!enable.ok()) return Response::text(400, enable.error().message);
  const std::string checkId = "_node_maintenance";
  if (!*enable) {
    if (!agentHasCheck(checkId)) return okEmpty(0);
    return agentDeregister("", checkId);
  }
  registry::RegisterCommand cmd;
  cmd.node.name = self_.nodeName;
  cmd.skipNodeUpdate = true;
  cmd.checks.push_back(maintenanceCheck(req, checkId, "Node Maintenance Mode", "", "node"));
  return agentRegister(cmd, cmd);
}

Outcome Api::agentChecks(const Request& req, const std::string&) {
  return query(
      req, {registry::nodeWatchKey(self_.nodeName)},
      [this](const View& v) { return v.nodeIndex(self_.nodeName); },
      [this](const View& v) {
        json::object out;
        v.checks.forEachPrefix(
            instanceKey(self_.nodeName, ""), [&](const std::string&, const registry::CheckPtr& c) {
              const registry::Service* svc = nullptr;
              if (!c->serviceId.empty())
                if (const auto* i = v.nodeServices.find(instanceKey(c->node, c->serviceId)))
                  svc = (*i)->service.get();
              out[c->checkId] = checkJson(*c, svc);
              return true;
            });
        return Response::json(serialize(out));
      });
}

Outcome Api::agentCheckRegister(const Request& req, const std::string&) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  auto c = decodeCheckDefinition(*obj, "", true);
  if (!c.ok()) return errorResponse(c.error());
  if (c->name.empty()) return Response::text(400, "Missing check name");
  if (c->checkId.empty()) c->checkId = c->name;
  if (auto why = scriptChecksRefused({*c}); !why.empty()) return Response::text(400, why);
  if (!c->serviceId.empty() &&
      !hub_.view()->nodeServices.find(instanceKey(self_.nodeName, c->serviceId)))
    return Response::text(400, "ServiceID \"" + c->serviceId + "\" does not exist");
  registry::RegisterCommand cmd;
  cmd.node.name = self_.nodeName;
  cmd.skipNodeUpdate = true;
  cmd.checks.push_back(std::move(*c));
  return agentRegister(cmd, cmd);
}

Outcome Api::agentCheckDeregister(const Request&, const std::string& id) {
  if (!agentHasCheck(id)) return Response::text(404, "Unknown check ID \"" + id + "\"");
  return agentDeregister("", id);
}

Outcome Api::agentCheckTtl(const Request& req, const std::string& id, registry::HealthStatus s) {
  const auto* c = hub_.view()->checks.find(instanceKey(self_.nodeName, id));
  if (!c) return Response::text(404, "Unknown check ID \"" + id + "\"");
  if ((*c)->type != "ttl")
    return Response::text(400, "CheckID \"" + id + "\" does not have associated TTL");
  const auto* note = req.param("note");
  std::string output = note ? *note : "";
  if (output.size() > 4096) output.resize(4096);
  return ttlReport(**c, registry::CheckStatusCommand{self_.nodeName, id, s, output});
}

Outcome Api::agentCheckUpdate(const Request& req, const std::string& id) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  Fields f(*obj);
  std::string status, output;
  if (Status st = f.str("Status", status); !st.ok()) return errorResponse(st.error());
  if (Status st = f.str("Output", output); !st.ok()) return errorResponse(st.error());
  auto parsed = registry::parseHealthStatus(status);
  if (!parsed) return Response::text(400, "Invalid check status: \"" + status + "\"");
  const auto* c = hub_.view()->checks.find(instanceKey(self_.nodeName, id));
  if (!c) return Response::text(404, "Unknown check ID \"" + id + "\"");
  if ((*c)->type != "ttl")
    return Response::text(400, "CheckID \"" + id + "\" does not have associated TTL");
  if (output.size() > 4096) output.resize(4096);
  return ttlReport(**c, registry::CheckStatusCommand{self_.nodeName, id, *parsed, output});
}

Outcome Api::ttlReport(const registry::Check& current, registry::CheckStatusCommand cmd) {
  // Checked before the report reaches the checker (which would keep the
  // check alive even when nothing is written).
  if (auto denied = aclDenied(current)) return *denied;
  if (opts_.onTtlReport) opts_.onTtlReport(cmd);
  // A heartbeat that does not change the check writes nothing to the log.
  if (current.status == cmd.status && current.output == cmd.output) return okEmpty(0);
  return write(cmd, okEmpty);
}

}  // namespace cairn::http
