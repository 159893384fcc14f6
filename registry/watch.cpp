#include "registry/watch.hpp"

namespace cairn::registry {

WatchHub::WatchHub(ViewPtr initial) : current_(std::move(initial)) {}

uint64_t WatchHub::watch(const std::vector<std::string>& keys, const Ready& ready, Fire fire) {
  std::lock_guard lock(mu_);
  // Checked under mu_: publish() swaps the view under the same lock, so a
  // change between the caller's read and this registration is never missed.
  if (ready(*current_.load(std::memory_order_acquire))) return 0;
  uint64_t id = nextId_++;
  for (const auto& k : keys) byKey_[k].insert(id);
  waiters_.emplace(id, Waiter{keys, std::move(fire)});
  return id;
}

void WatchHub::cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  for (const auto& k : it->second.keys) {
    auto b = byKey_.find(k);
    if (b == byKey_.end()) continue;
    b->second.erase(id);
    if (b->second.empty()) byKey_.erase(b);
  }
  waiters_.erase(it);
}

void WatchHub::publish(ViewPtr next, const std::vector<std::string>& changedKeys) {
  std::vector<Fire> toFire;
  {
    std::lock_guard lock(mu_);
    current_.store(std::move(next), std::memory_order_release);
    for (const auto& k : changedKeys) {
      auto b = byKey_.find(k);
      if (b == byKey_.end()) continue;
      auto ids = std::move(b->second);
      byKey_.erase(b);
      for (uint64_t id : ids) {
        auto it = waiters_.find(id);
        if (it == waiters_.end()) continue;
        for (const auto& other : it->second.keys) {
          if (other == k) continue;
          auto ob = byKey_.find(other);
          if (ob != byKey_.end()) {
            ob->second.erase(id);
            if (ob->second.empty()) byKey_.erase(ob);
          }
        }
        toFire.push_back(std::move(it->second.fire));
        waiters_.erase(it);
      }
    }
  }
  woken_.fetch_add(toFire.size(), std::memory_order_relaxed);
  for (auto& f : toFire) f();
}

void WatchHub::publishAll(ViewPtr next) {
  std::vector<Fire> toFire;
  {
    std::lock_guard lock(mu_);
    current_.store(std::move(next), std::memory_order_release);
    for (auto& [id, w] : waiters_) toFire.push_back(std::move(w.fire));
    waiters_.clear();
    byKey_.clear();
  }
  woken_.fetch_add(toFire.size(), std::memory_order_relaxed);
  for (auto& f : toFire) f();
}

size_t WatchHub::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace cairn::registry
