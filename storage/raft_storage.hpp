// RaftStorage: the Raft log and state in RocksDB, beside the catalog. Reads
// serve the core (raft::Storage); writes come from the driver thread, one
// synced WriteBatch per Ready (entries, suffix truncation, hard state).
//
// Threading: all methods on the driver's thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raft/storage.hpp"
#include "storage/db.hpp"

namespace cairn::storage {

class RaftStorage final : public raft::Storage {
 public:
  static Result<std::unique_ptr<RaftStorage>> open(Db& db);

  InitialState initialState() const override { return {hard_, conf_}; }
  Result<std::vector<raft::Entry>> entries(uint64_t lo, uint64_t hi,
                                           uint64_t maxBytes) const override;
  Result<uint64_t> term(uint64_t i) const override;
  uint64_t firstIndex() const override { return snapIndex_ + 1; }
  uint64_t lastIndex() const override { return last_; }
  Result<raft::Snapshot> snapshot() const override;

  // Writes a Ready: the hard state, the entries (deleting any suffix they
  // replace) and, if not empty, an installed snapshot's metadata (the log
  // restarts after it), as one batch. With durable=false the batch is only
  // appended to the WAL: sync() makes it durable; until then a crash may
  // lose it (a later batch is never kept without the earlier ones: one WAL).
  // Writes nothing when there is nothing to write.
  Status save(const std::optional<raft::HardState>& hs, const std::vector<raft::Entry>& entries,
              const raft::Snapshot& installed, bool durable = true);
  // Makes every batch written so far durable (one fsync of the WAL).
  Status sync();
  // The configuration after applying a membership change.
  Status setConfState(const raft::ConfState& conf);
  // Records a snapshot point: the state machine at `index`, whose bytes
  // `data` produces on demand (it captures an immutable catalog view; it may
  // write them to a file and return a reader of it).
  using SnapshotSource = std::function<Result<std::shared_ptr<const raft::SnapshotData>>()>;
  void setSnapshot(uint64_t index, uint64_t term, const raft::ConfState& conf, SnapshotSource data);
  // Deletes log entries up to `upTo` (must be <= the snapshot index).
  Status compact(uint64_t upTo);
  bool isEmpty() const { return last_ == 0 && hard_.empty(); }

 private:
  explicit RaftStorage(Db& db) : db_(db) {}
  Status load();

  Db& db_;
  raft::HardState hard_;
  raft::ConfState conf_;
  uint64_t snapIndex_ = 0;  // entries <= this are compacted (or never existed)
  uint64_t snapTerm_ = 0;
  uint64_t last_ = 0;
  // Terms of the entries written since open(), as runs (first index, term)
  // in index order, covering [termRuns_.front().first, last_]: term() is
  // called for every AppendEntries and acknowledgement on the leader and
  // would otherwise be a RocksDB read. Older entries are read from RocksDB.
  std::vector<std::pair<uint64_t, uint64_t>> termRuns_;
  raft::SnapshotMeta snapMeta_;
  SnapshotSource snapData_;
};

}  // namespace cairn::storage
