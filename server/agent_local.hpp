// The agent's local state: the services and checks registered through this
// server's /v1/agent endpoints, and the IDs deregistered through them, as
// Consul's agent keeps them. The catalog is replicated and can lose what an
// agent registered (a restore of an older snapshot); this record is the
// server's own, so it can bring them back (planLocalRepair), and keep what
// it deregistered from coming back with a restore.
//
// Pure: values and functions, no lock and no I/O. AgentLocalStore
// (agent_local_store.hpp) guards one with a mutex and persists its rows.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/command.hpp"
#include "registry/view.hpp"

namespace cairn::server {

struct AgentLocalState {
  // As registered (node name, Service ID defaulted to the name), by ID.
  std::map<std::string, registry::Service> services;
  // A service's checks and standalone ones, by check ID. `status` is the
  // registered one (what a check that is missing comes back with).
  std::map<std::string, registry::Check> checks;
  // Deregistered through the agent API: ID -> the catalog index the request
  // was checked against (what was there then is older). Each map keeps the
  // newest kMaxGone.
  std::map<std::string, uint64_t> goneServices;
  std::map<std::string, uint64_t> goneChecks;
};

inline constexpr size_t kMaxGone = 10000;

// A change to persist: key under kAgentLocalPrefix, and the value (none: erase).
struct LocalRow {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const LocalRow&) const = default;
};
inline constexpr std::string_view kAgentLocalPrefix = "agent_local/";

// Records a registration made through the agent API (a service with its
// checks, or checks alone); clears the tombstones of what it names.
std::vector<LocalRow> noteRegistered(AgentLocalState& s, const registry::RegisterCommand& cmd);
// Records a deregistration through the agent API: a service (with its
// checks) when serviceId is set, else a check. `atIndex`: see goneServices.
std::vector<LocalRow> noteDeregistered(AgentLocalState& s, const std::string& serviceId,
                                       const std::string& checkId, uint64_t atIndex);
// Adds one persisted row (as noteRegistered/noteDeregistered returned it).
// A row that does not decode is an error; the caller decides what to skip.
Status loadLocalRow(AgentLocalState& s, std::string_view key, std::string_view value);

// What the catalog needs so that it holds the local state again.
struct LocalRepair {
  // Deregistrations first (tombstoned IDs that came back), then
  // registrations (missing or changed services with their missing or
  // changed checks; missing or changed checks of intact services). Each
  // names the node with skipNodeUpdate set.
  std::vector<registry::Command> writes;
  // Tombstones no longer needed: the ID was registered again since, by
  // something other than this agent (left alone).
  std::vector<std::string> forgetServices;
  std::vector<std::string> forgetChecks;
  // Services gone after their check was critical, with
  // DeregisterCriticalServiceAfter set: reaped by the health checker, so
  // they leave the local state as if deregistered through the agent API.
  std::vector<std::string> reaped;
  uint64_t viewIndex = 0;  // of the view planned against
  bool empty() const {
    return writes.empty() && forgetServices.empty() && forgetChecks.empty() && reaped.empty();
  }
};

// Updates `critical`, the local services that have a check with
// DeregisterCriticalServiceAfter and that `v` shows with such a check
// critical (a service missing from `v` keeps its last answer).
void observeReapable(const registry::View& v, const std::string& node, const AgentLocalState& s,
                     std::set<std::string>& critical);

// Compares `s` with the catalog `v` for node `node`. Nothing is planned
// while the node itself is missing (its own registration comes first).
//
// A service is changed when its registered fields differ (tags excepted if
// it has EnableTagOverride, as in Consul); a check when its name, notes,
// service, type or definition differ, never for its status or output. A
// check that exists keeps its status and output when re-registered. A check
// whose service is neither in the catalog nor being registered is skipped.
//
// A tombstoned ID found on the node is deregistered when its record is not
// newer than the tombstone, or was created at the same index as the node
// itself (a restore stamps every record with its own index); a newer record
// (registered again through /v1/catalog/register) is left alone and the
// tombstone dropped.
//
// A missing service in `critical` (observeReapable) was reaped, not lost:
// it is listed in `reaped`, not registered.
LocalRepair planLocalRepair(const registry::View& v, const std::string& node,
                            const AgentLocalState& s, const std::set<std::string>& critical = {});

// Drops the tombstones the plan no longer needs and the reaped services
// (which get tombstones); returns the rows to write.
std::vector<LocalRow> forgetGone(AgentLocalState& s, const LocalRepair& plan);

}  // namespace cairn::server
