// Service definition files for `cairn services register`, in either form
// Consul accepts:
//   - the agent API's body: {"Name": "web", "Port": 80, ...}
//   - a config file: {"service": {...}} or {"services": [{...}, ...]}
// Config files conventionally use snake_case keys ("enable_tag_override");
// keys are rewritten to the API's names ("EnableTagOverride") so that any
// Consul-compatible server takes them. User data (the keys inside Meta,
// NodeMeta, Header, Config and TaggedAddresses) is left as written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::cli {

struct ServiceDefinition {
  std::string name;
  std::string json;  // the agent API's request body
};

// Fails (kInvalidArgument) with a message naming the problem: invalid JSON
// (with line and column), not an object, no name, a duplicate key.
Result<std::vector<ServiceDefinition>> parseServiceDefinitions(std::string_view text);

// "enable_tag_override" -> "EnableTagOverride", "check_id" -> "CheckID",
// "tls_skip_verify" -> "TLSSkipVerify". Keys with an upper-case letter are
// returned unchanged.
std::string apiFieldName(std::string_view key);

}  // namespace cairn::cli
