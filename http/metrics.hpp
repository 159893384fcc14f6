// HTTP and catalog metrics, rendered in Prometheus text format at /metrics.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "registry/view.hpp"
#include "registry/watch.hpp"

namespace cairn::http {

class Metrics {
 public:
  // Counts one request of `route` (a path pattern, never a raw path, so the
  // number of series stays bounded) answered with `status`.
  void observe(std::string_view route, int status, std::chrono::microseconds latency);

  std::string render(const registry::View& view, const registry::WatchHub& hub) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   1.0,    10.0};
  mutable std::mutex mu_;
  // route -> status -> count; found by string_view, so counting allocates
  // only the first time a route is seen.
  std::map<std::string, std::map<int, uint64_t>, std::less<>> requests_;
  std::array<uint64_t, kBuckets.size() + 1> latency_{};
  double latencySum_ = 0;
  uint64_t latencyCount_ = 0;
};

}  // namespace cairn::http
