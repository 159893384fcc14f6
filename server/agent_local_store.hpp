// AgentLocalStore: this server's agent local state (agent_local.hpp), kept
// in memory and in the data dir's metadata, so that it outlives a restart.
//
// The API records into it (http::AgentLocalSink) and the own-node keeper
// asks it whether the catalog still holds it (intact) and for the writes
// that bring it back (plan, then forget). Rows are written without fsync:
// a registration is acknowledged once the catalog has it, and this record
// only matters once the catalog has lost it; it survives a crash of the
// process, not a power loss within the WAL's flush delay.
//
// Thread-safe (one mutex). A failed write to the data dir is logged; the
// in-memory state stays right until the next restart.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/result.hpp"
#include "http/api.hpp"
#include "server/agent_local.hpp"

namespace cairn::storage {
class Db;
}

namespace cairn::server {

class AgentLocalStore final : public http::AgentLocalSink {
 public:
  // Loads the rows `db` holds for `node` (rows that do not decode are
  // skipped with a warning). `db` must outlive the store.
  static Result<std::unique_ptr<AgentLocalStore>> open(storage::Db& db, std::string node);

  void registered(const registry::RegisterCommand& cmd) override;
  void deregistering(const std::string& serviceId, const std::string& checkId,
                     uint64_t viewIndex) override;
  bool knows(const std::string& serviceId, const std::string& checkId) const override;

  // True when `v` needs no repair. Cheap when nothing changed: the answer
  // for the node's index and this store's version is remembered.
  bool intact(const registry::View& v);
  // The writes that bring `v` back in line (planLocalRepair).
  LocalRepair plan(const registry::View& v);
  // Drops the tombstones `p` no longer needs.
  void forget(const LocalRepair& p);

  size_t services() const;
  size_t checks() const;

 private:
  AgentLocalStore(storage::Db& db, std::string node) : db_(db), node_(std::move(node)) {}
  void persist(const std::vector<LocalRow>& rows);  // with mu_ held

  storage::Db& db_;
  const std::string node_;
  mutable std::mutex mu_;
  AgentLocalState state_;
  std::set<std::string> critical_;  // observeReapable's
  uint64_t version_ = 1;            // bumped on every change
  // The last (node index, version) found intact.
  uint64_t intactNodeIndex_ = 0;
  uint64_t intactVersion_ = 0;
};

}  // namespace cairn::server
