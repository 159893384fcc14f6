// RaftLog: the node's log as the core sees it: stable entries (in Storage)
// followed by unstable ones (appended, not yet persisted by the driver), plus
// the commit and apply positions (etcd-io/raft log.go, log_unstable.go).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raft/storage.hpp"
#include "raft/types.hpp"

namespace cairn::raft {

class RaftLog {
 public:
  RaftLog(const Storage& storage, uint64_t maxApplyBytes);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  uint64_t firstIndex() const;
  uint64_t lastIndex() const;
  uint64_t lastTerm() const;
  // Term of entry i; 0 if i is compacted away or beyond the last index.
  uint64_t term(uint64_t i) const;
  bool matchTerm(uint64_t i, uint64_t t) const { return i <= lastIndex() && term(i) == t; }
  // Thesis 3.6.1: a candidate's log is at least as up-to-date as ours.
  bool isUpToDate(uint64_t lastIndex, uint64_t lastTerm) const;

  // Follower side of AppendEntries: if our entry at `index` has `logTerm`,
  // appends `ents` (truncating a conflicting suffix) and advances commit to
  // min(commit, last new index). Returns the last new index, or nullopt.
  std::optional<uint64_t> maybeAppend(uint64_t index, uint64_t logTerm, uint64_t commit,
                                      const std::vector<Entry>& ents);
  // Appends at the end (leader). Returns the new last index.
  uint64_t append(const std::vector<Entry>& ents);
  // Index of the first entry of ents that conflicts with (or extends) the log; 0 if none.
  uint64_t findConflict(const std::vector<Entry>& ents) const;
  // The largest index <= index whose term is <= term (fast back-tracking).
  uint64_t findConflictByTerm(uint64_t index, uint64_t term) const;

  // Commits up to maxIndex if that entry is of `term` (Figure 8: only
  // current-term entries are committed by counting replicas).
  bool maybeCommit(uint64_t maxIndex, uint64_t term, bool allowOldTerm = false);
  void commitTo(uint64_t i);
  void appliedTo(uint64_t i);

  // Entries [lo, hi) from storage and unstable; empty on compaction.
  Result<std::vector<Entry>> slice(uint64_t lo, uint64_t hi, uint64_t maxBytes) const;
  Result<std::vector<Entry>> entriesFrom(uint64_t i, uint64_t maxBytes) const;
  std::vector<Entry> allEntries() const;

  // Committed entries not yet applied (bounded by maxApplyBytes).
  std::vector<Entry> nextCommitted() const;
  bool hasNextCommitted() const;

  // Unstable part, for Ready.
  const std::vector<Entry>& unstableEntries() const { return unstable_; }
  const std::optional<Snapshot>& unstableSnapshot() const { return unstableSnap_; }
  // The driver persisted entries up to (i, t) / the snapshot at i.
  void stableTo(uint64_t i, uint64_t t);
  void stableSnapTo(uint64_t i);

  // Replaces the log with a snapshot (a follower installing one).
  void restore(Snapshot snap);
  Result<Snapshot> snapshot() const;

 private:
  std::optional<uint64_t> unstableTerm(uint64_t i) const;

  const Storage& storage_;
  uint64_t maxApplyBytes_;
  std::optional<Snapshot> unstableSnap_;
  std::vector<Entry> unstable_;
  uint64_t offset_;  // index of unstable_[0]
  uint64_t committed_;
  uint64_t applied_;
};

}  // namespace cairn::raft
