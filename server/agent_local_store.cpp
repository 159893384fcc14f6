#include "server/agent_local_store.hpp"

#include "common/log.hpp"
#include "storage/db.hpp"

namespace cairn::server {

Result<std::unique_ptr<AgentLocalStore>> AgentLocalStore::open(storage::Db& db, std::string node) {
  auto rows = db.scanMeta(kAgentLocalPrefix);
  if (!rows.ok()) return rows.error();
  std::unique_ptr<AgentLocalStore> s(new AgentLocalStore(db, std::move(node)));
  for (const auto& [key, value] : *rows)
    if (Status st = loadLocalRow(s->state_, key, value); !st.ok())
      log::get("agent")->warn("agent local state: skipping row {}: {}", key, st.error().message);
  return s;
}

void AgentLocalStore::persist(std::vector<LocalRow> rows) {
  ++version_;
  if (pending_.empty())
    pending_ = std::move(rows);
  else
    pending_.insert(pending_.end(), std::make_move_iterator(rows.begin()),
                    std::make_move_iterator(rows.end()));
}

void AgentLocalStore::flush() {
  std::lock_guard order(flushMu_);
  std::vector<LocalRow> rows;
  {
    std::lock_guard lock(mu_);
    rows.swap(pending_);
  }
  if (rows.empty()) return;
  std::vector<storage::Db::MetaWrite> writes;
  writes.reserve(rows.size());
  for (auto& r : rows) writes.push_back({std::move(r.key), std::move(r.value)});
  if (Status st = db_.writeMeta(writes, false); !st.ok())
    log::get("agent")->error("agent local state not saved in the data dir: {}", st.error().message);
}

void AgentLocalStore::registered(const registry::RegisterCommand& cmd) {
  std::lock_guard lock(mu_);
  persist(noteRegistered(state_, cmd));
}

void AgentLocalStore::deregistering(const std::string& serviceId, const std::string& checkId,
                                    uint64_t viewIndex) {
  std::lock_guard lock(mu_);
  persist(noteDeregistered(state_, serviceId, checkId, viewIndex));
}

bool AgentLocalStore::knows(const std::string& serviceId, const std::string& checkId) const {
  std::lock_guard lock(mu_);
  return serviceId.empty() ? state_.checks.count(checkId) > 0
                           : state_.services.count(serviceId) > 0;
}

bool AgentLocalStore::intact(const registry::View& v) {
  flush();
  const auto* e = v.nodes.find(node_);
  if (!e) return false;
  std::lock_guard lock(mu_);
  if ((*e)->index == intactNodeIndex_ && version_ == intactVersion_) return true;
  observeReapable(v, node_, state_, critical_);
  if (!planLocalRepair(v, node_, state_, critical_).empty()) return false;
  intactNodeIndex_ = (*e)->index;
  intactVersion_ = version_;
  return true;
}

LocalRepair AgentLocalStore::plan(const registry::View& v) {
  std::lock_guard lock(mu_);
  observeReapable(v, node_, state_, critical_);
  return planLocalRepair(v, node_, state_, critical_);
}

void AgentLocalStore::forget(const LocalRepair& p) {
  std::lock_guard lock(mu_);
  persist(forgetGone(state_, p));
}

size_t AgentLocalStore::services() const {
  std::lock_guard lock(mu_);
  return state_.services.size();
}

size_t AgentLocalStore::checks() const {
  std::lock_guard lock(mu_);
  return state_.checks.size();
}

}  // namespace cairn::server
