#include "registry/view.hpp"

#include <algorithm>

namespace cairn::registry {

std::string instanceKey(std::string_view node, std::string_view id) {
  std::string k;
  k.reserve(node.size() + 1 + id.size());
  k.append(node);
  k.push_back('\0');
  k.append(id);
  return k;
}

uint64_t View::serviceIndex(std::string_view name) const {
  if (const auto* g = services.find(name)) return std::max<uint64_t>((*g)->index, 1);
  return std::max<uint64_t>(servicesIndex, 1);
}

uint64_t View::nodeIndex(std::string_view name) const {
  if (const auto* n = nodes.find(name)) return std::max<uint64_t>((*n)->index, 1);
  return std::max<uint64_t>(nodesIndex, 1);
}

uint64_t View::connectIndex(std::string_view name) const {
  uint64_t idx = serviceIndex(name);
  if (const auto* d = connectDests.find(name)) {
    idx = std::max(idx, (*d)->index);
    for (const auto& p : (*d)->proxies)
      if (const auto* g = services.find(p)) idx = std::max(idx, (*g)->index);
  }
  return idx;
}

std::vector<CheckPtr> View::checksOf(const Instance& inst) const {
  std::vector<CheckPtr> out;
  if (const auto* n = nodes.find(inst.service->node)) out = (*n)->checks;
  out.insert(out.end(), inst.checks.begin(), inst.checks.end());
  return out;
}

std::string serviceWatchKey(std::string_view name) {
  return "s:" + std::string(name);
}
std::string connectWatchKey(std::string_view name) {
  return "c:" + std::string(name);
}
std::string nodeWatchKey(std::string_view name) {
  return "n:" + std::string(name);
}

}  // namespace cairn::registry
