#include "client/srv.hpp"

#include <algorithm>

namespace cairn::client {

std::optional<std::size_t> selectSrv(const std::vector<SrvInstance>& instances,
                                     std::mt19937_64& rng) {
  if (instances.empty()) return std::nullopt;
  std::uint16_t lowest = instances[0].priority;
  for (const auto& i : instances) lowest = std::min(lowest, i.priority);
  std::vector<std::size_t> group;
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < instances.size(); ++k) {
    if (instances[k].priority != lowest) continue;
    group.push_back(k);
    total += instances[k].weight;
  }
  if (total == 0) {
    std::uniform_int_distribution<std::size_t> pick(0, group.size() - 1);
    return group[pick(rng)];
  }
  // As RFC 2782: weight-0 instances first, a number r in [0, total], the
  // first instance whose running sum reaches r. Without weight-0 instances r
  // starts at 1, so that the first instance is not favoured by 1/(total+1).
  std::stable_partition(group.begin(), group.end(),
                        [&](std::size_t k) { return instances[k].weight == 0; });
  bool zeros = instances[group.front()].weight == 0;
  std::uniform_int_distribution<std::uint64_t> draw(zeros ? 0 : 1, total);
  std::uint64_t r = draw(rng);
  std::uint64_t sum = 0;
  for (std::size_t k : group) {
    sum += instances[k].weight;
    if (sum >= r) return k;
  }
  return group.back();  // unreachable: sum reaches total
}

}  // namespace cairn::client
