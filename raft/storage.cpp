#include "raft/storage.hpp"

namespace cairn::raft {

void limitSize(std::vector<Entry>& ents, uint64_t maxBytes) {
  if (ents.empty()) return;
  uint64_t size = ents[0].data.size();
  size_t n = 1;
  for (; n < ents.size(); ++n) {
    size += ents[n].data.size() + 16;
    if (size > maxBytes) break;
  }
  ents.resize(n);
}

MemoryStorage::MemoryStorage() : ents_(1) {}

Result<std::vector<Entry>> MemoryStorage::entries(uint64_t lo, uint64_t hi,
                                                  uint64_t maxBytes) const {
  uint64_t offset = ents_[0].index;
  if (lo <= offset) return Error{ErrorCode::kNotFound, kCompacted};
  if (hi > lastIndex() + 1) return Error{ErrorCode::kUnavailable, kUnavailable};
  std::vector<Entry> out(ents_.begin() + static_cast<long>(lo - offset),
                         ents_.begin() + static_cast<long>(hi - offset));
  limitSize(out, maxBytes);
  return out;
}

Result<uint64_t> MemoryStorage::term(uint64_t i) const {
  uint64_t offset = ents_[0].index;
  if (i < offset) return Error{ErrorCode::kNotFound, kCompacted};
  if (i - offset >= ents_.size()) return Error{ErrorCode::kUnavailable, kUnavailable};
  return ents_[i - offset].term;
}

void MemoryStorage::append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  uint64_t first = firstIndex();
  uint64_t last = entries.back().index;
  if (last < first) return;
  size_t skip = entries.front().index < first ? first - entries.front().index : 0;
  uint64_t start = entries[skip].index;
  CAIRN_CHECK(start <= lastIndex() + 1, "MemoryStorage::append leaves a gap");
  ents_.resize(start - ents_[0].index);
  ents_.insert(ents_.end(), entries.begin() + static_cast<long>(skip), entries.end());
}

Status MemoryStorage::applySnapshot(const Snapshot& snap) {
  if (snap.meta.index <= snap_.meta.index) return invalidArgument("snapshot out of date");
  snap_ = snap;
  ents_.assign(1, Entry{snap.meta.term, snap.meta.index, EntryType::kNormal, {}});
  return {};
}

Status MemoryStorage::createSnapshot(uint64_t i, const ConfState& conf, std::string data) {
  if (i <= snap_.meta.index) return invalidArgument("snapshot out of date");
  CAIRN_CHECK(i <= lastIndex(), "snapshot beyond the last index");
  snap_.meta.index = i;
  snap_.meta.term = ents_[i - ents_[0].index].term;
  snap_.meta.conf = conf;
  snap_.data = snapshotFromString(std::move(data));
  return {};
}

Status MemoryStorage::compact(uint64_t i) {
  uint64_t offset = ents_[0].index;
  if (i <= offset) return invalidArgument("already compacted");
  CAIRN_CHECK(i <= lastIndex(), "compact beyond the last index");
  std::vector<Entry> kept(ents_.begin() + static_cast<long>(i - offset), ents_.end());
  kept[0].data.clear();
  ents_ = std::move(kept);
  return {};
}

}  // namespace cairn::raft
