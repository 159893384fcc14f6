// Services and checks defined in config files: registered at start and on
// SIGHUP, and deregistered when they leave the config.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "registry/command.hpp"

namespace cairn::server {

struct ConfigDefinitions {
  std::vector<registry::RegisterCommand> registrations;
  std::set<std::string> serviceIds;
  std::set<std::string> checkIds;  // standalone checks only
};

// Decodes the JSON texts of `service`/`check` config blocks for `node`.
Result<ConfigDefinitions> decodeConfigDefinitions(const std::vector<std::string>& services,
                                                  const std::vector<std::string>& checks,
                                                  const std::string& node);

// Refuses definitions with a script check unless script checks are enabled.
Status refuseScriptChecks(const ConfigDefinitions& defs, bool enabled);

// Encodes/decodes a set of IDs for the data dir's metadata.
std::string encodeIdSet(const std::set<std::string>& ids);
std::set<std::string> decodeIdSet(const std::string& text);

}  // namespace cairn::server
