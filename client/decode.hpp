// Decoding of the API's JSON answers into the plain structs of types.hpp.
// Missing or null fields decode to empty values (servers omit them freely);
// a field of the wrong type, or a body that is not JSON, is an error that
// names the field. Pure functions: no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "client/types.hpp"
#include "common/result.hpp"

namespace cairn::client {

using ServiceTags = std::map<std::string, std::vector<std::string>>;

Result<ServiceTags> decodeCatalogServices(std::string_view json);
Result<std::vector<CatalogNode>> decodeCatalogNodes(std::string_view json);
Result<std::vector<CatalogServiceInstance>> decodeCatalogService(std::string_view json);
Result<std::vector<HealthServiceEntry>> decodeHealthService(std::string_view json);
// /v1/health/checks/<service>, /v1/health/state/<state>, /v1/health/node/<node>.
Result<std::vector<HealthCheck>> decodeHealthChecks(std::string_view json);
Result<std::vector<Member>> decodeMembers(std::string_view json);
// /v1/operator/raft/configuration: its "Servers".
Result<std::vector<RaftServer>> decodeRaftConfiguration(std::string_view json);
// A JSON string, as /v1/status/leader answers.
Result<std::string> decodeString(std::string_view json);

// The worst of the check statuses: "critical" beats "warning" beats
// "passing"; an unknown status counts as critical, no checks as passing.
std::string aggregateStatus(const std::vector<std::string>& checkStatuses);

}  // namespace cairn::client
