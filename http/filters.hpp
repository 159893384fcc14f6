// Query filters shared by the catalog and health endpoints: ?tag=, ?node-meta=.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "http/types.hpp"
#include "registry/view.hpp"

namespace cairn::http {

using NodeMetaFilter = std::vector<std::pair<std::string, std::string>>;

struct InstanceFilter {
  std::vector<std::string> tags;  // every one must be present
  NodeMetaFilter nodeMeta;        // every pair must match
};

// Parses repeated ?node-meta=key:value.
Result<NodeMetaFilter> parseNodeMeta(const Request& req);
Result<InstanceFilter> parseInstanceFilter(const Request& req);

bool nodeMetaMatches(const registry::View& v, const std::string& node, const NodeMetaFilter& f);

// Calls fn for each instance of `service` that passes `f`, in the stable
// order shared by /v1/catalog/service and /v1/health/service.
void forEachInstance(
    const registry::View& v, const std::string& service, const InstanceFilter& f,
    const std::function<void(const registry::NodeEntry&, const registry::Instance&)>& fn);

}  // namespace cairn::http
