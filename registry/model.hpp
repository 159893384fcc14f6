// The catalog's records: nodes, service instances and checks, as Consul
// models them. Plain value types; every field is Consul's, named in camelCase.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::registry {

enum class HealthStatus : uint8_t { kPassing, kWarning, kCritical };

std::string_view toString(HealthStatus s);
// Accepts "passing", "warning", "critical" (any case).
std::optional<HealthStatus> parseHealthStatus(std::string_view s);

struct Node {
  std::string name;
  std::string id;  // optional UUID, as Consul's node ID
  std::string address;
  std::string datacenter;
  std::map<std::string, std::string> taggedAddresses;
  std::map<std::string, std::string> meta;
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;

  // Equal ignoring the indexes.
  bool sameContent(const Node& o) const;
};

struct ServiceAddress {
  std::string address;
  int port = 0;
  bool operator==(const ServiceAddress&) const = default;
};

struct Weights {
  int passing = 1;
  int warning = 1;
  bool operator==(const Weights&) const = default;
};

// One upstream of a connect proxy (the proxy's outbound listeners).
struct ProxyUpstream {
  std::string destinationName;
  std::string datacenter;
  std::string localBindAddress;
  int localBindPort = 0;
  std::string config;  // a JSON object as registered ("" when absent)
  bool operator==(const ProxyUpstream&) const = default;
};

// Consul's `Proxy` block of a service of Kind connect-proxy.
struct ServiceProxy {
  std::string destinationServiceName;
  std::string destinationServiceId;
  std::string localServiceAddress;
  int localServicePort = 0;
  std::vector<ProxyUpstream> upstreams;
  std::string config;  // a JSON object as registered ("" when absent)
  bool operator==(const ServiceProxy&) const = default;
};

inline constexpr std::string_view kConnectProxyKind = "connect-proxy";

struct Service {
  std::string node;
  std::string id;
  std::string name;
  std::vector<std::string> tags;
  std::string address;
  std::map<std::string, ServiceAddress> taggedAddresses;
  int port = 0;
  std::map<std::string, std::string> meta;
  Weights weights;
  bool enableTagOverride = false;
  std::string kind;            // "" for a typical service, or "connect-proxy", ...
  ServiceProxy proxy;          // set for Kind connect-proxy
  bool connectNative = false;  // Connect.Native: speaks mTLS itself
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;

  bool sameContent(const Service& o) const;
};

// How a check is run. Empty fields mean "not this kind"; durations are kept
// as the Go duration strings the user gave.
struct CheckDefinition {
  std::string http;
  std::string method;
  std::map<std::string, std::vector<std::string>> header;
  std::string body;
  std::string tcp;
  std::vector<std::string> args;
  std::string grpc;  // host:port or host:port/service (grpc.health.v1)
  bool grpcUseTls = false;
  std::string interval;
  std::string timeout;
  std::string ttl;
  std::string deregisterCriticalServiceAfter;
  bool tlsSkipVerify = false;
  std::string tlsServerName;
  int successBeforePassing = 0;
  int failuresBeforeWarning = 0;
  int failuresBeforeCritical = 0;
  bool operator==(const CheckDefinition&) const = default;
};

struct Check {
  std::string node;
  std::string checkId;
  std::string name;
  HealthStatus status = HealthStatus::kCritical;
  std::string notes;
  std::string output;
  std::string serviceId;
  std::string serviceName;
  std::vector<std::string> serviceTags;
  std::string type;  // "http", "tcp", "ttl", "script", "grpc", "" (external)
  CheckDefinition definition;
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;

  bool sameContent(const Check& o) const;
};

}  // namespace cairn::registry
