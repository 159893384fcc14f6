#include "server/own_node.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace cairn::server {

using Clock = std::chrono::steady_clock;

bool ownNodeIntact(const registry::View& v, const OwnNode& self) {
  const auto* e = v.nodes.find(self.name);
  if (!e) return false;
  const registry::Node& n = (*e)->node;
  if (n.id != self.id || n.address != self.address) return false;
  return std::any_of((*e)->checks.begin(), (*e)->checks.end(),
                     [](const registry::CheckPtr& c) { return c->checkId == kOwnNodeCheckId; });
}

OwnNodeKeeper::OwnNodeKeeper(registry::WatchHub& hub, OwnNode self,
                             std::function<Status()> registerAll, Options opts)
    : hub_(hub), self_(std::move(self)), registerAll_(std::move(registerAll)), opts_(opts) {
  thread_ = std::thread([this] { run(); });
}

OwnNodeKeeper::~OwnNodeKeeper() {
  stop();
  thread_.join();
}

void OwnNodeKeeper::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool OwnNodeKeeper::allIntact(const registry::View& v) const {
  return ownNodeIntact(v, self_) && (!opts_.intact || opts_.intact(v));
}

bool OwnNodeKeeper::pause(Clock::duration d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stop_; });
  return !stop_;
}

void OwnNodeKeeper::run() {
  auto logger = log::get("agent");
  bool registered = opts_.registered;
  constexpr auto kMinHoldoff = std::chrono::seconds(1);
  constexpr auto kMaxHoldoff = std::chrono::seconds(60);
  Clock::duration holdoff{0};
  Clock::time_point lastRepair{};
  Clock::time_point notBefore{};  // of the next repair
  for (int attempt = 0;; ++attempt) {
    if (registered && allIntact(*hub_.view())) {
      attempt = -1;
      if (!pause(opts_.pollInterval)) return;
      continue;
    }
    if (registered) {
      if (auto now = Clock::now(); now < notBefore) {
        if (!pause(notBefore - now)) return;
        if (allIntact(*hub_.view())) continue;
      }
    }
    const bool nodeMissing = !registered || !ownNodeIntact(*hub_.view(), self_);
    if (registered && attempt == 0) {
      if (nodeMissing)
        logger->warn(
            "this server's node {} is missing from the catalog (replaced by a snapshot restore, "
            "or deregistered): registering it again",
            self_.name);
      else
        logger->warn(
            "the catalog has lost or changed services or checks registered through this "
            "server's agent API (node {}), or holds one deregistered through it: repairing",
            self_.name);
    }
    Status st = nodeMissing ? registerAll_() : Status();
    if (st.ok() && opts_.repair) st = opts_.repair();
    if (!st.ok()) {
      if (attempt % 10 == 0)
        logger->info("waiting for the cluster to register this node: {}", st.error().message);
      if (!pause(std::chrono::seconds(1))) return;
      continue;
    }
    if (registered) {
      ++repairs_;
      auto now = Clock::now();
      // Repairs within a minute of each other: each waits longer.
      holdoff = lastRepair != Clock::time_point{} && now - lastRepair < kMaxHoldoff
                    ? std::clamp<Clock::duration>(2 * holdoff, kMinHoldoff, kMaxHoldoff)
                    : Clock::duration{0};
      lastRepair = now;
      notBefore = now + holdoff;
      logger->info("repaired this server's own registrations (node {})", self_.name);
    }
    registered = true;
    attempt = -1;
    std::lock_guard lock(mu_);
    if (stop_) return;
  }
}

}  // namespace cairn::server
