#include "server/agent_local.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace cairn::server {
namespace {

using registry::instanceKey;

constexpr std::string_view kServiceRow = "s/";
constexpr std::string_view kCheckRow = "c/";
constexpr std::string_view kGoneServiceRow = "gs/";
constexpr std::string_view kGoneCheckRow = "gc/";

std::string rowKey(std::string_view kind, std::string_view id) {
  std::string k(kAgentLocalPrefix);
  k.append(kind);
  k.append(id);
  return k;
}

// Records keep the definition only: the catalog assigns indexes, and fills
// a check's service name and tags from its service.
registry::Service definitionOf(registry::Service s, const std::string& node) {
  s.node = node;
  if (s.id.empty()) s.id = s.name;
  s.createIndex = s.modifyIndex = 0;
  return s;
}

registry::Check definitionOf(registry::Check c, const std::string& node) {
  c.node = node;
  if (c.checkId.empty()) c.checkId = c.name;
  c.serviceName.clear();
  c.serviceTags.clear();
  c.createIndex = c.modifyIndex = 0;
  return c;
}

// Adds a tombstone, dropping the oldest beyond kMaxGone.
void addGone(std::map<std::string, uint64_t>& gone, std::string_view kind, const std::string& id,
             uint64_t at, std::vector<LocalRow>& rows) {
  gone[id] = at;
  rows.push_back({rowKey(kind, id), std::to_string(at)});
  if (gone.size() <= kMaxGone) return;
  auto oldest = std::min_element(gone.begin(), gone.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
  rows.push_back({rowKey(kind, oldest->first), std::nullopt});
  gone.erase(oldest);
}

void eraseGone(std::map<std::string, uint64_t>& gone, std::string_view kind, const std::string& id,
               std::vector<LocalRow>& rows) {
  if (gone.erase(id)) rows.push_back({rowKey(kind, id), std::nullopt});
}

bool sameService(const registry::Service& catalog, const registry::Service& local) {
  if (local.enableTagOverride && catalog.tags != local.tags) {
    registry::Service s = local;
    s.tags = catalog.tags;
    return catalog.sameContent(s);
  }
  return catalog.sameContent(local);
}

bool sameCheck(const registry::Check& catalog, const registry::Check& local) {
  return catalog.name == local.name && catalog.notes == local.notes &&
         catalog.serviceId == local.serviceId && catalog.type == local.type &&
         catalog.definition == local.definition;
}

// The check to register: the local definition, with the status and output
// the catalog has for it, if any.
registry::Check repairedCheck(const registry::Check& local, const registry::CheckPtr* current) {
  registry::Check c = local;
  if (current) {
    c.status = (*current)->status;
    c.output = (*current)->output;
  }
  return c;
}

// The record is one the agent's deregistration did not see replaced: it is
// not newer than the tombstone, or it came with the node (a restore).
bool staleCopy(uint64_t createIndex, uint64_t goneAt, uint64_t nodeCreateIndex) {
  return createIndex <= goneAt || createIndex == nodeCreateIndex;
}

}  // namespace

std::vector<LocalRow> noteRegistered(AgentLocalState& s, const registry::RegisterCommand& cmd) {
  std::vector<LocalRow> rows;
  const std::string& node = cmd.node.name;
  if (cmd.service) {
    registry::Service svc = definitionOf(*cmd.service, node);
    std::string id = svc.id;
    rows.push_back({rowKey(kServiceRow, id), registry::encodeService(svc)});
    s.services[id] = std::move(svc);
    eraseGone(s.goneServices, kGoneServiceRow, id, rows);
  }
  for (const auto& in : cmd.checks) {
    registry::Check c = definitionOf(in, node);
    std::string id = c.checkId;
    rows.push_back({rowKey(kCheckRow, id), registry::encodeCheck(c)});
    s.checks[id] = std::move(c);
    eraseGone(s.goneChecks, kGoneCheckRow, id, rows);
  }
  return rows;
}

std::vector<LocalRow> noteDeregistered(AgentLocalState& s, const std::string& serviceId,
                                       const std::string& checkId, uint64_t atIndex) {
  std::vector<LocalRow> rows;
  if (!serviceId.empty()) {
    if (s.services.erase(serviceId)) rows.push_back({rowKey(kServiceRow, serviceId), std::nullopt});
    // The catalog drops a service's checks with it.
    for (auto it = s.checks.begin(); it != s.checks.end();) {
      if (it->second.serviceId == serviceId) {
        rows.push_back({rowKey(kCheckRow, it->first), std::nullopt});
        it = s.checks.erase(it);
      } else {
        ++it;
      }
    }
    addGone(s.goneServices, kGoneServiceRow, serviceId, atIndex, rows);
    return rows;
  }
  if (checkId.empty()) return rows;
  if (s.checks.erase(checkId)) rows.push_back({rowKey(kCheckRow, checkId), std::nullopt});
  addGone(s.goneChecks, kGoneCheckRow, checkId, atIndex, rows);
  return rows;
}

Status loadLocalRow(AgentLocalState& s, std::string_view key, std::string_view value) {
  if (key.substr(0, kAgentLocalPrefix.size()) != kAgentLocalPrefix)
    return invalidArgument("agent local state: stray key");
  key.remove_prefix(kAgentLocalPrefix.size());
  auto take = [&key](std::string_view kind) {
    if (key.substr(0, kind.size()) != kind) return false;
    key.remove_prefix(kind.size());
    return true;
  };
  auto index = [&value](uint64_t& out) {
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    return ec == std::errc() && p == value.data() + value.size();
  };
  if (take(kServiceRow)) {
    auto svc = registry::decodeService(value);
    if (!svc.ok()) return svc.error();
    s.services[std::string(key)] = std::move(svc).value();
  } else if (take(kCheckRow)) {
    auto c = registry::decodeCheck(value);
    if (!c.ok()) return c.error();
    s.checks[std::string(key)] = std::move(c).value();
  } else if (bool service = take(kGoneServiceRow); service || take(kGoneCheckRow)) {
    uint64_t at = 0;
    if (!index(at)) return invalidArgument("agent local state: bad index for " + std::string(key));
    (service ? s.goneServices : s.goneChecks)[std::string(key)] = at;
  } else {
    return invalidArgument("agent local state: unknown row kind");
  }
  return {};
}

void observeReapable(const registry::View& v, const std::string& node, const AgentLocalState& s,
                     std::set<std::string>& critical) {
  std::map<std::string, bool> seen;  // service ID -> a reaping check is critical
  for (const auto& [id, c] : s.checks) {
    if (c.serviceId.empty() || c.definition.deregisterCriticalServiceAfter.empty()) continue;
    if (!s.services.count(c.serviceId)) continue;
    if (!v.nodeServices.find(instanceKey(node, c.serviceId))) continue;
    const auto* now = v.checks.find(instanceKey(node, id));
    seen[c.serviceId] |= now && (*now)->status == registry::HealthStatus::kCritical;
  }
  for (const auto& [id, isCritical] : seen) {
    if (isCritical)
      critical.insert(id);
    else
      critical.erase(id);
  }
  for (auto it = critical.begin(); it != critical.end();)
    it = s.services.count(*it) ? std::next(it) : critical.erase(it);
}

LocalRepair planLocalRepair(const registry::View& v, const std::string& node,
                            const AgentLocalState& s, const std::set<std::string>& critical) {
  LocalRepair out;
  out.viewIndex = v.index;
  const auto* entry = v.nodes.find(node);
  if (!entry) return out;
  const uint64_t nodeCreated = (*entry)->node.createIndex;

  std::set<std::string> removed;  // services deregistered by this plan
  for (const auto& [id, at] : s.goneServices) {
    if (s.services.count(id)) continue;
    const auto* inst = v.nodeServices.find(instanceKey(node, id));
    if (!inst) continue;
    if (staleCopy((*inst)->service->createIndex, at, nodeCreated)) {
      out.writes.emplace_back(registry::DeregisterCommand{node, id, ""});
      removed.insert(id);
    } else {
      out.forgetServices.push_back(id);
    }
  }
  for (const auto& [id, at] : s.goneChecks) {
    if (s.checks.count(id)) continue;
    const auto* c = v.checks.find(instanceKey(node, id));
    if (!c || removed.count((*c)->serviceId)) continue;
    if (staleCopy((*c)->createIndex, at, nodeCreated))
      out.writes.emplace_back(registry::DeregisterCommand{node, "", id});
    else
      out.forgetChecks.push_back(id);
  }

  auto newCommand = [&node] {
    registry::RegisterCommand r;
    r.node.name = node;
    r.skipNodeUpdate = true;
    return r;
  };
  std::map<std::string, registry::RegisterCommand> byService;
  for (const auto& [id, local] : s.services) {
    registry::Service want = definitionOf(local, node);
    const auto* inst = v.nodeServices.find(instanceKey(node, id));
    if (inst && sameService(*(*inst)->service, want)) continue;
    registry::RegisterCommand r = newCommand();
    r.service = std::move(want);
    byService.emplace(id, std::move(r));
  }
  registry::RegisterCommand loose = newCommand();  // checks of intact services, node checks
  std::set<std::string> reaped;
  for (const auto& [id, local] : s.services)
    if (critical.count(id) && !v.nodeServices.find(instanceKey(node, id))) {
      byService.erase(id);
      reaped.insert(id);
    }
  out.reaped.assign(reaped.begin(), reaped.end());
  for (const auto& [id, local] : s.checks) {
    if (reaped.count(local.serviceId)) continue;
    registry::Check want = definitionOf(local, node);
    const auto* current = v.checks.find(instanceKey(node, id));
    if (current && sameCheck(**current, want)) continue;
    if (!want.serviceId.empty()) {
      if (auto it = byService.find(want.serviceId); it != byService.end()) {
        it->second.checks.push_back(repairedCheck(want, current));
        continue;
      }
      if (removed.count(want.serviceId) || !v.nodeServices.find(instanceKey(node, want.serviceId)))
        continue;  // nowhere to go
    }
    loose.checks.push_back(repairedCheck(want, current));
  }
  for (auto& [id, r] : byService) out.writes.emplace_back(std::move(r));
  if (!loose.checks.empty()) out.writes.emplace_back(std::move(loose));
  return out;
}

std::vector<LocalRow> forgetGone(AgentLocalState& s, const LocalRepair& plan) {
  std::vector<LocalRow> rows;
  for (const auto& id : plan.forgetServices) eraseGone(s.goneServices, kGoneServiceRow, id, rows);
  for (const auto& id : plan.forgetChecks) eraseGone(s.goneChecks, kGoneCheckRow, id, rows);
  for (const auto& id : plan.reaped) {
    auto more = noteDeregistered(s, id, "", plan.viewIndex);
    rows.insert(rows.end(), more.begin(), more.end());
  }
  return rows;
}

}  // namespace cairn::server
