#include "server/ca_keeper.hpp"

#include <chrono>

#include "common/log.hpp"
#include "registry/ca_plan.hpp"
#include "registry/command.hpp"

namespace cairn::server {

CaKeeper::CaKeeper(registry::WatchHub& hub, registry::Replicator& replicator,
                   int64_t leafTtlSeconds)
    : hub_(hub), replicator_(replicator), leafTtlSeconds_(leafTtlSeconds) {
  thread_ = std::thread([this] { run(); });
}

CaKeeper::~CaKeeper() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool CaKeeper::leading() const {
  std::string self = replicator_.selfId();
  if (self.empty()) return true;  // one server
  for (const auto& s : replicator_.servers())
    if (s.leader && s.id == self) return true;
  return false;
}

void CaKeeper::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    step();
    lock.lock();
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; });
  }
}

void CaKeeper::step() {
  if (inFlight_->load() || !leading() || replicator_.clusterCommandVersion() < 4) return;
  auto view = hub_.view();
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  std::optional<registry::CaSetCommand> cmd;
  const char* what = nullptr;
  if (!view->ca) {
    auto planned = registry::planBootstrap(registry::randomUuid(), now);
    if (!planned.ok()) {
      log::get("connect")->error("cannot make the CA root: {}", planned.error().message);
      return;
    }
    cmd = std::move(planned).value();
    what = "initialized the mesh CA";
  } else {
    cmd = registry::planPrune(*view->ca, now, leafTtlSeconds_);
    what = "pruned CA roots whose leaves have all expired";
  }
  if (!cmd) return;
  std::string trustDomain = cmd->state.trustDomain();
  std::string rootId = cmd->state.active() ? cmd->state.active()->id : "";
  inFlight_->store(true);
  replicator_.propose(registry::encodeCommand(*cmd), [flag = inFlight_, what, trustDomain,
                                                      rootId](Result<uint64_t> r) {
    flag->store(false);
    if (r.ok())
      log::get("connect")->info("{} trust_domain={} active_root={} index={}", what, trustDomain,
                                rootId, *r);
    else
      log::get("connect")->info("CA proposal not applied: {}", r.error().message);
  });
}

}  // namespace cairn::server
