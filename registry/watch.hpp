// WatchHub: blocking queries wait here for the keys they cover, and the
// catalog publishes each new view through it, waking only the watchers of
// the keys that changed (a write to service A never wakes watchers of B).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "registry/view.hpp"

namespace cairn::registry {

class WatchHub {
 public:
  using Fire = std::function<void()>;
  using Ready = std::function<bool(const View&)>;

  explicit WatchHub(ViewPtr initial);

  // The current view. Lock-free; callable from any thread.
  ViewPtr view() const { return current_.load(std::memory_order_acquire); }

  // Waits for a change to any of `keys`. If ready(current view) already
  // holds, returns 0 and does not register (the caller answers at once).
  // Otherwise registers `fire` to run once, on the publishing thread, after
  // the next view that changes one of the keys is published, and returns
  // an id for cancel(). `fire` must be quick and must not call back in.
  uint64_t watch(const std::vector<std::string>& keys, const Ready& ready, Fire fire);

  // Removes a watcher that has not fired (no-op if it has).
  void cancel(uint64_t id);

  // Publishes `next` and fires the watchers of `changedKeys`.
  void publish(ViewPtr next, const std::vector<std::string>& changedKeys);

  // Publishes `next` and fires every watcher (the whole catalog was replaced).
  void publishAll(ViewPtr next);

  uint64_t wokenTotal() const { return woken_.load(std::memory_order_relaxed); }
  size_t waiting() const;

 private:
  struct Waiter {
    std::vector<std::string> keys;
    Fire fire;
  };

  std::atomic<ViewPtr> current_;
  mutable std::mutex mu_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, Waiter> waiters_;
  std::unordered_map<std::string, std::unordered_set<uint64_t>> byKey_;
  std::atomic<uint64_t> woken_{0};
};

}  // namespace cairn::registry
