#include "http/filters.hpp"

#include <algorithm>

namespace cairn::http {

Result<NodeMetaFilter> parseNodeMeta(const Request& req) {
  NodeMetaFilter out;
  for (const auto& v : req.params("node-meta")) {
    auto colon = v.find(':');
    if (colon == std::string::npos)
      return invalidArgument("Invalid node-meta \"" + v + "\": expected key:value");
    out.emplace_back(v.substr(0, colon), v.substr(colon + 1));
  }
  return out;
}

Result<InstanceFilter> parseInstanceFilter(const Request& req) {
  InstanceFilter f;
  f.tags = req.params("tag");
  auto meta = parseNodeMeta(req);
  if (!meta.ok()) return meta.error();
  f.nodeMeta = std::move(*meta);
  return f;
}

bool nodeMetaMatches(const registry::View& v, const std::string& node, const NodeMetaFilter& f) {
  if (f.empty()) return true;
  const auto* n = v.nodes.find(node);
  if (!n) return false;
  for (const auto& [k, val] : f) {
    auto it = (*n)->node.meta.find(k);
    if (it == (*n)->node.meta.end() || it->second != val) return false;
  }
  return true;
}

void forEachInstance(
    const registry::View& v, const std::string& service, const InstanceFilter& f,
    const std::function<void(const registry::NodeEntry&, const registry::Instance&)>& fn) {
  const auto* g = v.services.find(service);
  if (!g) return;
  (*g)->instances.forEach([&](const std::string&, const registry::InstancePtr& i) {
    const auto& tags = i->service->tags;
    for (const auto& t : f.tags)
      if (std::find(tags.begin(), tags.end(), t) == tags.end()) return true;
    const auto* n = v.nodes.find(i->service->node);
    if (!n) return true;
    if (!nodeMetaMatches(v, i->service->node, f.nodeMeta)) return true;
    fn(**n, *i);
    return true;
  });
}

}  // namespace cairn::http
