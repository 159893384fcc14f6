#include "health/schedule.hpp"

namespace cairn::health {

std::chrono::milliseconds firstRunDelay(std::chrono::milliseconds interval, std::mt19937_64& rng) {
  if (interval.count() <= 0) return std::chrono::milliseconds(0);
  std::uniform_int_distribution<int64_t> d(0, interval.count() - 1);
  return std::chrono::milliseconds(d(rng));
}

}  // namespace cairn::health
