#include "raft/log.hpp"

#include <algorithm>

namespace cairn::raft {

RaftLog::RaftLog(const Storage& storage, uint64_t maxApplyBytes)
    : storage_(storage), maxApplyBytes_(maxApplyBytes) {
  offset_ = storage.lastIndex() + 1;
  committed_ = storage.firstIndex() - 1;
  applied_ = storage.firstIndex() - 1;
}

uint64_t RaftLog::firstIndex() const {
  if (unstableSnap_) return unstableSnap_->meta.index + 1;
  return storage_.firstIndex();
}

uint64_t RaftLog::lastIndex() const {
  if (!unstable_.empty()) return offset_ + unstable_.size() - 1;
  if (unstableSnap_) return unstableSnap_->meta.index;
  return storage_.lastIndex();
}

uint64_t RaftLog::lastTerm() const {
  return term(lastIndex());
}

std::optional<uint64_t> RaftLog::unstableTerm(uint64_t i) const {
  if (i < offset_) {
    if (unstableSnap_ && unstableSnap_->meta.index == i) return unstableSnap_->meta.term;
    return std::nullopt;
  }
  if (i - offset_ < unstable_.size()) return unstable_[i - offset_].term;
  return std::nullopt;
}

uint64_t RaftLog::term(uint64_t i) const {
  uint64_t dummy = firstIndex() - 1;
  if (i < dummy || i > lastIndex()) return 0;
  if (auto t = unstableTerm(i)) return *t;
  auto t = storage_.term(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::isUpToDate(uint64_t lastIdx, uint64_t lastT) const {
  return lastT > lastTerm() || (lastT == lastTerm() && lastIdx >= lastIndex());
}

uint64_t RaftLog::findConflict(const std::vector<Entry>& ents) const {
  for (const auto& e : ents)
    if (!matchTerm(e.index, e.term)) return e.index;
  return 0;
}

uint64_t RaftLog::findConflictByTerm(uint64_t index, uint64_t t) const {
  index = std::min(index, lastIndex());
  while (index > 0) {
    uint64_t ourTerm = term(index);
    if (ourTerm == 0 && index < firstIndex()) break;  // compacted: stop here
    if (ourTerm <= t) break;
    --index;
  }
  return index;
}

std::optional<uint64_t> RaftLog::maybeAppend(uint64_t index, uint64_t logTerm, uint64_t commit,
                                             const std::vector<Entry>& ents) {
  if (!matchTerm(index, logTerm)) return std::nullopt;
  uint64_t lastNew = index + ents.size();
  uint64_t ci = findConflict(ents);
  if (ci != 0) {
    CAIRN_CHECK(ci > committed_, "an append conflicts with a committed entry");
    std::vector<Entry> rest(ents.begin() + static_cast<long>(ci - (index + 1)), ents.end());
    append(rest);
  }
  commitTo(std::min(commit, lastNew));
  return lastNew;
}

uint64_t RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return lastIndex();
  uint64_t after = ents[0].index - 1;
  CAIRN_CHECK(after >= committed_, "append would overwrite committed entries");
  // Truncate-and-append in the unstable part (log_unstable.go).
  if (after + 1 == offset_ + unstable_.size()) {
    unstable_.insert(unstable_.end(), ents.begin(), ents.end());
  } else if (after + 1 <= offset_) {
    // Replaces everything unstable (and a stable suffix, which the driver
    // overwrites when it persists these entries).
    offset_ = after + 1;
    unstable_ = ents;
  } else {
    unstable_.resize(after + 1 - offset_);
    unstable_.insert(unstable_.end(), ents.begin(), ents.end());
  }
  return lastIndex();
}

bool RaftLog::maybeCommit(uint64_t maxIndex, uint64_t t, bool allowOldTerm) {
  if (maxIndex > committed_ && (allowOldTerm || term(maxIndex) == t)) {
    commitTo(maxIndex);
    return true;
  }
  return false;
}

void RaftLog::commitTo(uint64_t i) {
  if (i <= committed_) return;
  CAIRN_CHECK(i <= lastIndex(), "commit index beyond the last index");
  committed_ = i;
}

void RaftLog::appliedTo(uint64_t i) {
  if (i == 0) return;
  CAIRN_CHECK(i <= committed_ && i >= applied_, "applied index out of range");
  applied_ = i;
}

Result<std::vector<Entry>> RaftLog::slice(uint64_t lo, uint64_t hi, uint64_t maxBytes) const {
  std::vector<Entry> out;
  if (lo >= hi) return out;
  if (lo < firstIndex()) return Error{ErrorCode::kNotFound, kCompacted};
  CAIRN_CHECK(hi <= lastIndex() + 1, "slice beyond the last index");
  if (lo < offset_) {
    auto stored = storage_.entries(lo, std::min(hi, offset_), maxBytes);
    if (!stored.ok()) return stored.error();
    out = std::move(*stored);
    if (out.size() < std::min(hi, offset_) - lo) return out;  // hit the size limit
  }
  if (hi > offset_) {
    uint64_t from = std::max(lo, offset_);
    out.insert(out.end(), unstable_.begin() + static_cast<long>(from - offset_),
               unstable_.begin() + static_cast<long>(hi - offset_));
  }
  limitSize(out, maxBytes);
  return out;
}

Result<std::vector<Entry>> RaftLog::entriesFrom(uint64_t i, uint64_t maxBytes) const {
  if (i > lastIndex()) return std::vector<Entry>{};
  return slice(i, lastIndex() + 1, maxBytes);
}

std::vector<Entry> RaftLog::allEntries() const {
  auto r = entriesFrom(firstIndex(), UINT64_MAX);
  return r.ok() ? *r : std::vector<Entry>{};
}

bool RaftLog::hasNextCommitted() const {
  return committed_ > applied_ && applied_ + 1 >= firstIndex();
}

std::vector<Entry> RaftLog::nextCommitted() const {
  uint64_t lo = std::max(applied_ + 1, firstIndex());
  if (committed_ + 1 <= lo) return {};
  auto r = slice(lo, committed_ + 1, maxApplyBytes_);
  CAIRN_CHECK(r.ok(), "committed entries must be readable");
  return *r;
}

void RaftLog::stableTo(uint64_t i, uint64_t t) {
  auto ut = unstableTerm(i);
  // Only if the entry is still the one persisted (it may have been replaced).
  if (ut && *ut == t && i >= offset_) {
    unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<long>(i + 1 - offset_));
    offset_ = i + 1;
  }
}

void RaftLog::stableSnapTo(uint64_t i) {
  if (unstableSnap_ && unstableSnap_->meta.index == i) unstableSnap_.reset();
}

void RaftLog::restore(Snapshot snap) {
  committed_ = snap.meta.index;
  offset_ = snap.meta.index + 1;
  unstable_.clear();
  unstableSnap_ = std::move(snap);
}

Result<Snapshot> RaftLog::snapshot() const {
  if (unstableSnap_) return *unstableSnap_;
  return storage_.snapshot();
}

}  // namespace cairn::raft
