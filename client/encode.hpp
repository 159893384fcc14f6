// JSON bodies of the agent's write endpoints, from the plain structs of
// types.hpp. Pure functions: no I/O.
#pragma once

#include <string>
#include <string_view>

#include "client/types.hpp"
#include "common/result.hpp"

namespace cairn::client {

// The body of PUT /v1/agent/service/register. Fails (kInvalidArgument,
// naming the field) without a name, with a port outside 0..65535, negative
// weights, or a check that is not exactly one of TTL, HTTP or TCP.
Result<std::string> encodeServiceRegistration(const ServiceRegistration& service);
// The body of PUT /v1/agent/check/register; the same rules for the check.
Result<std::string> encodeCheckDefinition(const CheckDefinition& check);
// The body of PUT /v1/agent/check/update/<id>. `status` must be "passing",
// "warning" or "critical".
Result<std::string> encodeCheckUpdate(std::string_view status, std::string_view output);

}  // namespace cairn::client
