// The proxy's identity in the mesh: its leaf certificate and the CA roots as
// the agent hands them out (GET /v1/agent/connect/ca/leaf/<service> and
// /v1/agent/connect/ca/roots), decoded, and the SPIFFE IDs built from them.
// Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::proxy {

struct MeshLeaf {
  std::string certPem;  // the leaf (and any chain the agent appends)
  std::string keyPem;
  std::string serialHex;   // colon hex, as the agent shows it
  std::string serviceUri;  // spiffe://<td>/ns/default/dc/<dc>/svc/<service>
  int64_t validAfter = 0;  // unix seconds
  int64_t validBefore = 0;
  uint64_t index = 0;  // ModifyIndex: changes with every new leaf
  bool operator==(const MeshLeaf&) const = default;
};

struct MeshRoots {
  std::string trustDomain;  // "<cluster-uuid>.consul"
  std::string activeRootId;
  std::vector<std::string> rootPems;  // every root in the list, active or not
  // The active root's intermediates (after a rotation: the new root
  // cross-signed by the old), sent after the leaf so that a peer which still
  // trusts only the old root can verify it.
  std::vector<std::string> activeIntermediates;
  bool operator==(const MeshRoots&) const = default;
};

// Bodies of the leaf and roots endpoints. Errors name the missing field.
Result<MeshLeaf> decodeMeshLeaf(std::string_view body);
Result<MeshRoots> decodeMeshRoots(std::string_view body);

// "2026-11-27T17:04:34Z" (what the agent writes) to unix seconds.
Result<int64_t> parseRfc3339(std::string_view text);

// The identity an upstream's proxies must present: the upstream's SPIFFE ID
// in the roots' trust domain and the datacenter of our own leaf (upstreams
// are looked up in the local datacenter). Fails when our leaf's URI is not a
// service SPIFFE ID.
Result<std::string> upstreamSpiffeId(const MeshLeaf& own, const MeshRoots& roots,
                                     std::string_view upstream);

}  // namespace cairn::proxy
