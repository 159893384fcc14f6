// AgentLocalStore: this server's agent local state (agent_local.hpp), kept
// in memory and in the data dir's metadata, so that it outlives a restart.
//
// The API records into it (http::AgentLocalSink) and the own-node keeper
// asks it whether the catalog still holds it (intact) and for the writes
// that bring it back (plan, then forget). Changes are kept in memory at
// once and written to the data dir by flush(), which the keeper's thread
// calls on every poll (twice a second) and the agent at shutdown: a
// registration's answer does not wait for them (the catalog has it; this
// record only matters once the catalog has lost it). Rows are written
// without fsync: a crash of the process loses at most the last poll's
// changes, a power loss what the WAL had not flushed.
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
  // Also flushes (see above).
  bool intact(const registry::View& v);
  // Writes the changes not yet in the data dir.
  void flush();
  // The writes that bring `v` back in line (planLocalRepair).
  LocalRepair plan(const registry::View& v);
  // Drops the tombstones `p` no longer needs.
  void forget(const LocalRepair& p);

  size_t services() const;
  size_t checks() const;

 private:
  AgentLocalStore(storage::Db& db, std::string node) : db_(db), node_(std::move(node)) {}
  void persist(std::vector<LocalRow> rows);  // with mu_ held: queued for flush()

  storage::Db& db_;
  const std::string node_;
  mutable std::mutex mu_;
  AgentLocalState state_;
  std::set<std::string> critical_;  // observeReapable's
  std::vector<LocalRow> pending_;   // for flush()
  std::mutex flushMu_;              // one flush at a time, in order
  uint64_t version_ = 1;            // bumped on every change
  // The last (node index, version) found intact.
  uint64_t intactNodeIndex_ = 0;
  uint64_t intactVersion_ = 0;
};

}  // namespace cairn::server
