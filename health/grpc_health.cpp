#include "health/grpc_health.hpp"

#include <array>
#include <charconv>

#include "health/address.hpp"
#include "health/grpc_health.pb.h"

namespace cairn::health::grpc {
namespace {

using registry::HealthStatus;

constexpr size_t kPrefixBytes = 5;

uint32_t getBig32(std::string_view b) {
  return (uint32_t{static_cast<uint8_t>(b[0])} << 24) |
         (uint32_t{static_cast<uint8_t>(b[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(b[2])} << 8) | uint32_t{static_cast<uint8_t>(b[3])};
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Target> parseTarget(std::string_view grpc) {
  Target t;
  size_t slash = grpc.find('/');
  if (slash != std::string_view::npos) t.service = std::string(grpc.substr(slash + 1));
  if (!splitHostPort(grpc.substr(0, slash), t.host, t.port)) return std::nullopt;
  return t;
}

std::string encodeRequest(const std::string& service) {
  ::grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  std::string msg = req.SerializeAsString();
  std::string out(kPrefixBytes, '\0');
  uint32_t n = static_cast<uint32_t>(msg.size());
  for (int i = 0; i < 4; ++i) out[1 + i] = static_cast<char>(n >> (24 - 8 * i));
  return out + msg;
}

std::string servingStatusName(int status) {
  switch (status) {
    case kUnknown:
      return "UNKNOWN";
    case kServing:
      return "SERVING";
    case kNotServing:
      return "NOT_SERVING";
    case kServiceUnknown:
      return "SERVICE_UNKNOWN";
  }
  return std::to_string(status);
}

Result<int> decodeResponse(std::string_view body) {
  if (body.empty()) return invalidArgument("no response message");
  if (body.size() < kPrefixBytes) return invalidArgument("truncated response message");
  if (body[0] != 0)
    return invalidArgument(body[0] == 1 ? "compressed response message (no compression was offered)"
                                        : "malformed response message prefix");
  uint32_t len = getBig32(body.substr(1));
  std::string_view msg = body.substr(kPrefixBytes);
  if (msg.size() < len) return invalidArgument("truncated response message");
  if (msg.size() > len) return invalidArgument("more than one response message");
  ::grpc::health::v1::HealthCheckResponse res;
  if (!res.ParseFromArray(msg.data(), static_cast<int>(msg.size())))
    return invalidArgument("response message does not parse as HealthCheckResponse");
  return static_cast<int>(res.status());
}

std::string codeName(int code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < static_cast<int>(kNames.size()))
    return std::string(kNames[static_cast<size_t>(code)]);
  return "Code(" + std::to_string(code) + ")";
}

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

ProbeResult verdict(const std::string& target, const Reply& r) {
  std::string prefix = "gRPC check " + target + ": ";
  auto critical = [&](std::string why) {
    return ProbeResult{HealthStatus::kCritical, prefix + std::move(why)};
  };
  if (r.httpStatus == 0) {
    if (r.resetCode != 0)
      return critical("stream reset by the server (HTTP/2 error code " +
                      std::to_string(r.resetCode) + ")");
    return critical("the server closed the stream without a response");
  }
  if (r.httpStatus != 200)
    return critical("unexpected HTTP status " + std::to_string(r.httpStatus) + " from the server");
  if (!r.contentType.starts_with("application/grpc"))
    return critical("unexpected content-type \"" + r.contentType + "\" (not a gRPC server)");
  if (!r.grpcStatus) {
    if (r.resetCode != 0)
      return critical("stream reset by the server (HTTP/2 error code " +
                      std::to_string(r.resetCode) + ")");
    return critical("the response ended without a grpc-status trailer");
  }
  int code = -1;
  const std::string& gs = *r.grpcStatus;
  auto [end, ec] = std::from_chars(gs.data(), gs.data() + gs.size(), code);
  if (ec != std::errc() || end != gs.data() + gs.size() || code < 0)
    return critical("malformed grpc-status \"" + gs + "\"");
  if (code != 0)
    return critical("rpc error: code = " + codeName(code) +
                    " desc = " + percentDecode(r.grpcMessage));
  auto status = decodeResponse(r.body);
  if (!status.ok()) return critical(status.error().message);
  if (*status != kServing) return critical("serving status " + servingStatusName(*status));
  return ProbeResult{HealthStatus::kPassing, prefix + "success"};
}

}  // namespace cairn::health::grpc
