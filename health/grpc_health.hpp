// The gRPC health check (grpc.health.v1.Health/Check) as bytes and rules,
// apart from any I/O: the target string, the length-prefixed request, the
// decoding of the response message, and the verdict from what the server
// sent (HTTP status, content-type, message, grpc-status trailer). The probe
// that moves these bytes over HTTP/2 is grpc_probe.cpp. No protobuf type
// here: the messages are built and read in grpc_health.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "health/probe.hpp"

namespace cairn::health::grpc {

inline constexpr std::string_view kCheckPath = "/grpc.health.v1.Health/Check";
// The largest response body kept; a HealthCheckResponse is 2 bytes (plus the
// 5-byte prefix), so anything near this is not a health service.
inline constexpr size_t kMaxResponseBytes = 16 * 1024;

// Consul's GRPC field: "host:port" or "host:port/service.Name" (the service
// is everything after the first '/', and may itself contain '/').
struct Target {
  std::string host;  // without brackets
  std::string port;
  std::string service;  // "" asks about the server as a whole
};
std::optional<Target> parseTarget(std::string_view grpc);

// HealthCheckRequest{service}, with gRPC's message prefix (a zero
// compressed-flag byte and a big-endian 32-bit length).
std::string encodeRequest(const std::string& service);

// HealthCheckResponse.ServingStatus values.
enum ServingStatus : int { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
std::string servingStatusName(int status);

// The response body must be exactly one uncompressed, length-prefixed
// HealthCheckResponse. Returns its status; the error says what was wrong.
Result<int> decodeResponse(std::string_view body);

// gRPC status codes by name, as grpc-go prints them ("Unavailable").
std::string codeName(int code);
// grpc-message is percent-encoded (gRPC over HTTP/2, "Responses").
std::string percentDecode(std::string_view s);

// What arrived on the call's stream before it closed.
struct Reply {
  int httpStatus = 0;  // :status; 0 if no headers arrived
  std::string contentType;
  std::optional<std::string> grpcStatus;  // as sent
  std::string grpcMessage;                // still percent-encoded
  std::string body;
  uint32_t resetCode = 0;  // HTTP/2 error code the stream closed with
};

// SERVING with grpc-status 0 is passing; anything else is critical. The
// output follows Consul: "gRPC check <target>: success", or the reason.
ProbeResult verdict(const std::string& target, const Reply& reply);

}  // namespace cairn::health::grpc
