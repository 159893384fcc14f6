// The read-only view of stable storage the core reads its log through
// (etcd-io/raft storage.go), and MemoryStorage, the in-memory implementation
// used by tests and the simulator. The RocksDB one lives in storage/.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "raft/types.hpp"

namespace cairn::raft {

// Errors a Storage may return; the core reacts to these two specially.
inline constexpr const char* kCompacted = "requested index is compacted";
inline constexpr const char* kUnavailable = "requested entry is unavailable";

class Storage {
 public:
  virtual ~Storage() = default;

  struct InitialState {
    HardState hard;
    ConfState conf;
  };
  virtual InitialState initialState() const = 0;

  // Entries in [lo, hi), at most maxBytes of data (at least one entry if
  // any). kCompacted if lo <= snapshot index; kUnavailable if hi > last+1.
  virtual Result<std::vector<Entry>> entries(uint64_t lo, uint64_t hi, uint64_t maxBytes) const = 0;
  // Term of entry i, for i in [firstIndex()-1, lastIndex()].
  virtual Result<uint64_t> term(uint64_t i) const = 0;
  // Index of the first entry available (snapshot index + 1).
  virtual uint64_t firstIndex() const = 0;
  virtual uint64_t lastIndex() const = 0;
  // The most recent snapshot.
  virtual Result<Snapshot> snapshot() const = 0;
};

// Not thread-safe: the simulator and tests drive it from one thread.
class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  InitialState initialState() const override { return {hard_, snap_.meta.conf}; }
  Result<std::vector<Entry>> entries(uint64_t lo, uint64_t hi, uint64_t maxBytes) const override;
  Result<uint64_t> term(uint64_t i) const override;
  uint64_t firstIndex() const override { return ents_[0].index + 1; }
  uint64_t lastIndex() const override { return ents_[0].index + ents_.size() - 1; }
  Result<Snapshot> snapshot() const override { return snap_; }

  void setHardState(const HardState& hs) { hard_ = hs; }
  const HardState& hardState() const { return hard_; }
  // Appends entries, replacing any existing suffix they conflict with.
  // Entries before firstIndex() are ignored.
  void append(const std::vector<Entry>& entries);
  // Replaces everything with the snapshot (installing a leader's snapshot).
  Status applySnapshot(const Snapshot& snap);
  // Records a snapshot of the state machine at applied index i (<= last).
  Status createSnapshot(uint64_t i, const ConfState& conf, std::string data);
  // Drops entries before index i (i <= last), keeping i as the dummy entry.
  Status compact(uint64_t i);

 private:
  HardState hard_;
  Snapshot snap_;
  // ents_[0] is a dummy whose index/term are those of the snapshot.
  std::vector<Entry> ents_;
};

// Appends to `out` the entries of `ents` while their data fits in maxBytes
// (always at least one).
void limitSize(std::vector<Entry>& ents, uint64_t maxBytes);

}  // namespace cairn::raft
