// When checks run: each at its own random offset within its interval, then
// every interval from there (Consul's lib.RandomStagger), so that 10,000
// checks with one interval spread evenly instead of all firing at once.
// Pure functions; the caller owns the clock and the random source.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

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

// The checker's one schedule: every check's next due time in a binary
// min-heap, so that a single timer (armed at the earliest due time) serves
// all checks instead of one timer per check. Entries are (due, id); an id
// the caller no longer knows (a check dropped or redefined) is simply
// skipped when it comes due, so nothing is ever removed from the middle.
// Pushing and popping are O(log n) and allocate nothing once the heap has
// grown to the number of checks.
template <typename TimePoint>
class RunQueue {
 public:
  struct Item {
    TimePoint due;
    uint64_t id;
  };

  void push(TimePoint due, uint64_t id) {
    heap_.push_back(Item{due, id});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // The earliest due time; the queue must not be empty.
  TimePoint earliest() const { return heap_.front().due; }
  // Takes the earliest item if it is due at or before `now`.
  bool popDue(TimePoint now, Item& out) {
    if (heap_.empty() || heap_.front().due > now) return false;
    std::pop_heap(heap_.begin(), heap_.end(), later);
    out = heap_.back();
    heap_.pop_back();
    return true;
  }
  void clear() { heap_.clear(); }

 private:
  static bool later(const Item& a, const Item& b) { return a.due > b.due; }
  std::vector<Item> heap_;
};

}  // namespace cairn::health
