#include "dns/load_table.hpp"

#include <algorithm>

namespace cairn::dns {

LoadTable::LoadTable(Options opts, Clock clock) : opts_(opts), clock_(std::move(clock)) {
  if (!clock_)
    clock_ = [] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
}

std::string LoadTable::key(std::string_view node, std::string_view serviceId) {
  std::string k;
  k.reserve(node.size() + 1 + serviceId.size());
  k.append(node).push_back('\0');
  k.append(serviceId);
  return k;
}

bool LoadTable::report(std::string_view node, std::string_view serviceId, double load,
                       std::chrono::milliseconds ttl) {
  if (!std::isfinite(load) || load < 0) return false;
  if (ttl.count() <= 0) ttl = opts_.defaultTtl;
  ttl = std::min(ttl, opts_.maxTtl);
  int64_t now = clock_();
  std::lock_guard lock(mu_);
  auto k = key(node, serviceId);
  auto it = slots_.find(k);
  if (it == slots_.end()) {
    // Sweep when the table doubled, or (at most once a second) when full.
    if (slots_.size() >= sweepAt_ ||
        (slots_.size() >= opts_.maxEntries && now - lastSweepNs_ >= 1'000'000'000)) {
      sweepLocked(now);
      sweepAt_ = std::max<size_t>(1024, slots_.size() * 2);
    }
    if (slots_.size() >= opts_.maxEntries) return false;
    it = slots_.emplace(std::move(k), std::make_shared<LoadSlot>()).first;
  }
  it->second->load.store(load, std::memory_order_relaxed);
  it->second->expiresNs.store(now + std::chrono::nanoseconds(ttl).count(),
                              std::memory_order_release);
  reports_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

double LoadTable::load(std::string_view node, std::string_view serviceId) const {
  int64_t now = clock_();
  std::lock_guard lock(mu_);
  auto it = slots_.find(key(node, serviceId));
  return it == slots_.end() ? NAN : read(*it->second, now);
}

std::shared_ptr<const LoadSlot> LoadTable::slot(std::string_view node, std::string_view serviceId) {
  std::lock_guard lock(mu_);
  auto k = key(node, serviceId);
  auto it = slots_.find(k);
  if (it != slots_.end()) return it->second;
  if (slots_.size() >= sweepAt_) {
    sweepLocked(clock_());
    sweepAt_ = std::max<size_t>(1024, slots_.size() * 2);
  }
  auto s = std::make_shared<LoadSlot>();
  // Over the cap the slot is handed out but not kept: reads give NaN.
  if (slots_.size() < opts_.maxEntries) slots_.emplace(std::move(k), s);
  return s;
}

size_t LoadTable::size() const {
  std::lock_guard lock(mu_);
  return slots_.size();
}

void LoadTable::sweepLocked(int64_t nowNs) {
  lastSweepNs_ = nowNs;
  // use_count() == 1: only the table holds it; it can grow only under mu_.
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->second.use_count() == 1 && std::isnan(read(*it->second, nowNs)))
      it = slots_.erase(it);
    else
      ++it;
  }
}

}  // namespace cairn::dns
