// Value types of the client library: what the HTTP API's answers decode to.
// Plain structs with no third-party types, so callers need no JSON library.
#pragma once

#include <cstdint>
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
};

}  // namespace cairn::client
