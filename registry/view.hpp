// View: an immutable snapshot of the catalog at one applied index.
//
// Published by the Catalog after every applied batch and read by HTTP/DNS
// without locks: a reader takes a shared_ptr<const View> and may keep it as
// long as it likes. Building the next view shares all untouched structure
// (PMap), so publishing costs in proportion to what changed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry/acl.hpp"
#include "registry/model.hpp"
#include "registry/pmap.hpp"

namespace cairn::registry {

using CheckPtr = std::shared_ptr<const Check>;

// One service instance with the checks attached to it (sorted by check ID).
struct Instance {
  std::shared_ptr<const Service> service;
  std::vector<CheckPtr> checks;
};
using InstancePtr = std::shared_ptr<const Instance>;

// All instances of one service name, keyed by instanceKey(node, id).
struct ServiceGroup {
  PMap<InstancePtr> instances;
  // Raft index of the last change to anything a query of this service shows
  // (its instances, their checks, their nodes and node checks).
  uint64_t index = 0;
};
using ServiceGroupPtr = std::shared_ptr<const ServiceGroup>;

// A node with its node-level checks (sorted by check ID).
struct NodeEntry {
  Node node;
  std::vector<CheckPtr> checks;
  // Raft index of the last change to the node, its checks or its services.
  uint64_t index = 0;
};
using NodeEntryPtr = std::shared_ptr<const NodeEntry>;

// Key of an instance or a check within its node: node + '\0' + id.
std::string instanceKey(std::string_view node, std::string_view id);

struct View {
  uint64_t index = 0;  // last applied Raft index
  uint64_t nodesIndex = 0;
  uint64_t servicesIndex = 0;
  uint64_t checksIndex = 0;
  PMap<NodeEntryPtr> nodes;        // by node name
  PMap<ServiceGroupPtr> services;  // by service name
  PMap<InstancePtr> nodeServices;  // by instanceKey(node, service id)
  PMap<CheckPtr> checks;           // by instanceKey(node, check id)
  acl::AclStatePtr acl;            // null until the first ACL command

  // The blocking-query index of a service's queries: the group's own index,
  // or the services table index when the service does not exist. Never 0.
  uint64_t serviceIndex(std::string_view name) const;
  // Same for a node's queries.
  uint64_t nodeIndex(std::string_view name) const;
  // Every node check of the node, then the instance's own checks.
  std::vector<CheckPtr> checksOf(const Instance& inst) const;
};
using ViewPtr = std::shared_ptr<const View>;

// Watch keys: what a blocking query waits on and what an apply reports.
std::string serviceWatchKey(std::string_view name);
std::string nodeWatchKey(std::string_view name);
inline constexpr std::string_view kNodesTableKey = "t:nodes";
inline constexpr std::string_view kServicesTableKey = "t:services";
inline constexpr std::string_view kChecksTableKey = "t:checks";
inline constexpr std::string_view kAclWatchKey = "t:acl";
// The store row (index table) that holds the whole ACL state.
inline constexpr std::string_view kAclStateRowKey = "acl/state";

}  // namespace cairn::registry
