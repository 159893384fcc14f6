// When checks run: each at its own random offset within its interval, then
// every interval from there (Consul's lib.RandomStagger), so that 10,000
// checks with one interval spread evenly instead of all firing at once.
// Pure functions; the caller owns the clock and the random source.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace cairn::health {

// The delay before a check's first run: uniform in [0, interval). A zero or
// negative interval gives 0.
std::chrono::milliseconds firstRunDelay(std::chrono::milliseconds interval, std::mt19937_64& rng);

// The next due time after a run that was due at `due` and started at `now`:
// due + interval, skipping whole intervals already missed (a stalled
// scheduler does not fire a burst to catch up). Keeps the check's phase, so
// lateness does not accumulate. `interval` must be positive.
template <typename TimePoint>
TimePoint nextRunAfter(TimePoint due, TimePoint now, std::chrono::milliseconds interval) {
  TimePoint next = due + interval;
  if (next <= now) {
    auto missed = (now - next) / interval + 1;
    next += missed * interval;
  }
  return next;
}

}  // namespace cairn::health
