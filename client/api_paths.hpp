// Request targets of the Consul HTTP API endpoints the client uses, with user
// input percent-encoded. Shared by Client and by callers that want the raw
// JSON of an endpoint (Client::get, Client::watch).
#pragma once

#include <string>
#include <string_view>

#include "client/types.hpp"

namespace cairn::client::paths {

inline constexpr std::string_view kRegisterService = "/v1/agent/service/register";
inline constexpr std::string_view kRegisterCheck = "/v1/agent/check/register";
inline constexpr std::string_view kCatalogServices = "/v1/catalog/services";
inline constexpr std::string_view kCatalogNodes = "/v1/catalog/nodes";
inline constexpr std::string_view kSnapshot = "/v1/snapshot";
inline constexpr std::string_view kMembers = "/v1/agent/members";
inline constexpr std::string_view kRaftConfiguration = "/v1/operator/raft/configuration";
inline constexpr std::string_view kStatusLeader = "/v1/status/leader";

std::string deregisterService(std::string_view serviceId);
std::string deregisterCheck(std::string_view checkId);
// `status` is "pass", "warn" or "fail"; an empty note adds no query.
std::string checkUpdate(std::string_view status, std::string_view checkId, std::string_view note);
// PUT with a JSON body {"Status", "Output"}.
std::string checkUpdateWithOutput(std::string_view checkId);

// Read endpoints, with the query options that apply to each.
std::string catalogServices(const QueryOptions& options = {});
std::string catalogNodes(const QueryOptions& options = {});
std::string catalogService(std::string_view name, const QueryOptions& options = {});
std::string healthService(std::string_view name, const QueryOptions& options = {});
std::string healthChecks(std::string_view service, const QueryOptions& options = {});
// `state` is "any", "passing", "warning" or "critical".
std::string healthState(std::string_view state, const QueryOptions& options = {});

// `target` with options.index and options.wait added (or replaced) as a
// blocking query's parameters.
std::string withBlocking(std::string_view target, std::uint64_t index,
                         std::chrono::milliseconds wait);

}  // namespace cairn::client::paths
