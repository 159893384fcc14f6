// Request targets of the Consul HTTP API endpoints the client uses, with user
// input percent-encoded. Shared by Client and by callers that want the raw
// JSON of an endpoint (Client::get).
#pragma once

#include <string>
#include <string_view>

namespace cairn::client::paths {

inline constexpr std::string_view kRegisterService = "/v1/agent/service/register";
inline constexpr std::string_view kCatalogServices = "/v1/catalog/services";
inline constexpr std::string_view kCatalogNodes = "/v1/catalog/nodes";
inline constexpr std::string_view kSnapshot = "/v1/snapshot";

std::string deregisterService(std::string_view serviceId);
std::string catalogService(std::string_view name);
// With `passingOnly`, asks the server to drop instances with a non-passing check.
std::string healthService(std::string_view name, bool passingOnly);
// `status` is "pass", "warn" or "fail"; an empty note adds no query.
std::string checkUpdate(std::string_view status, std::string_view checkId, std::string_view note);

}  // namespace cairn::client::paths
