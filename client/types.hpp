// Value types of the client library: what the HTTP API's answers decode to.
// Plain structs with no third-party types, so callers need no JSON library.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cairn::client {

// One HTTP exchange as received, whatever its status.
struct Response {
  unsigned status = 0;
  std::string body;
  std::uint64_t index = 0;  // X-Consul-Index; 0 when absent or malformed
};

// GET /v1/snapshot: a snapshot file's bytes and the server's index.
struct Snapshot {
  std::string data;
  std::uint64_t index = 0;
};

// An element of GET /v1/catalog/nodes.
struct CatalogNode {
  std::string node;
  std::string address;
  std::string datacenter;
};

// An element of GET /v1/catalog/service/<name>. `serviceAddress` is empty when
// the instance uses its node's address.
struct CatalogServiceInstance {
  std::string node;
  std::string address;
  std::string serviceId;
  std::string serviceName;
  std::string serviceAddress;
  int servicePort = 0;
  std::vector<std::string> serviceTags;
};

// A check as the health endpoints and the agent show it.
struct HealthCheck {
  std::string node;
  std::string checkId;
  std::string name;
  std::string status;  // "passing", "warning" or "critical"
  std::string notes;
  std::string output;
  std::string serviceId;    // empty: a node-level check
  std::string serviceName;  // empty: a node-level check
  std::string type;         // "ttl", "http", "tcp", "script", ...
};

// An element of GET /v1/health/service/<name>, with the instance's checks
// folded into one status: the worst of them ("passing" with no checks).
struct HealthServiceEntry {
  std::string node;
  std::string nodeAddress;
  std::string serviceId;
  std::string serviceName;
  std::string serviceAddress;  // empty: use nodeAddress
  int servicePort = 0;
  std::vector<std::string> serviceTags;
  std::string status;  // "passing", "warning" or "critical"
  std::vector<HealthCheck> checks;
};

// An element of GET /v1/agent/members (servers only in Cairn).
struct Member {
  std::string name;
  std::string address;  // "ip:port" of the server port
  std::string status;   // "alive", "leaving", "left", "failed", "none" or "unknown"
  std::string datacenter;
};

// A server of GET /v1/operator/raft/configuration.
struct RaftServer {
  std::string id;
  std::string node;
  std::string address;
  bool leader = false;
  bool voter = false;
};

// Read consistency of a query, as Consul's ?stale and ?consistent.
enum class Consistency { kDefault, kStale, kConsistent };

// Options of the catalog and health queries. Fields that do not apply to an
// endpoint are ignored by it (e.g. `passing` outside health service).
struct QueryOptions {
  Consistency consistency = Consistency::kDefault;
  std::vector<std::string> tags;  // instances having every one of these tags
  bool passing = false;           // health service: drop instances with a non-passing check
  // Blocking query: with a non-zero index, the server answers once its index
  // for what the query covers passes `index`, or after `wait` (the server's
  // default, 5 minutes, when zero). The client waits `wait` plus a margin.
  std::uint64_t index = 0;
  std::chrono::milliseconds wait{0};
};

// A check to register, alone (PUT /v1/agent/check/register) or with a
// service. Durations use Go's syntax ("10s", "1m"); empty fields are not
// sent. Exactly one of ttl, http or tcp says what kind of check it is.
struct CheckDefinition {
  std::string checkId;  // default: the name (or "service:<id>" for a service's check)
  std::string name;
  std::string serviceId;  // alone: attach to this service
  std::string notes;
  std::string ttl;
  std::string http;
  std::string method;  // http: GET by default
  std::string tcp;     // "host:port"
  std::string interval;
  std::string timeout;
  std::string deregisterCriticalServiceAfter;
  std::string status;  // initial status; the server's default is critical
};

// A service instance to register (PUT /v1/agent/service/register).
struct ServiceRegistration {
  std::string id;  // default: the name
  std::string name;
  std::string address;  // empty: the node's
  int port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  int weightPassing = 1;  // SRV weight while passing
  int weightWarning = 1;  // SRV weight while warning
  std::vector<CheckDefinition> checks;
};

}  // namespace cairn::client
