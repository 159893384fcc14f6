// JSON request bodies -> registry records and commands, with Consul's field
// names, defaults and validation. Every error names the offending field.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "registry/command.hpp"

namespace cairn::http {

struct ServiceRegistration {
  registry::Service service;
  std::vector<registry::Check> checks;  // ServiceID set, IDs assigned
};

// An agent-style service definition (PUT /v1/agent/service/register, or a
// `service` block of a config file).
Result<ServiceRegistration> decodeServiceDefinition(const boost::json::object& obj);

// An agent-style check definition. `where` prefixes error messages.
// `requireKind`: agent checks must say how they run (TTL/HTTP/TCP/Args).
Result<registry::Check> decodeCheckDefinition(const boost::json::object& obj,
                                              const std::string& where, bool requireKind);

// PUT /v1/catalog/register and /v1/catalog/deregister bodies.
Result<registry::RegisterCommand> decodeCatalogRegister(const boost::json::object& obj);
Result<registry::DeregisterCommand> decodeCatalogDeregister(const boost::json::object& obj);

// Validates a name used in DNS and URLs (service, node, check IDs).
Status validateName(const std::string& field, const std::string& value, bool required);

}  // namespace cairn::http
