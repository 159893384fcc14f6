#include "storage/raft_storage.hpp"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "storage/db_impl.hpp"

namespace cairn::storage {
namespace {

constexpr std::string_view kHardKey = "raft_hard_state";
constexpr std::string_view kConfKey = "raft_conf_state";
constexpr std::string_view kFirstKey = "raft_log_start";  // snapshot index and term

std::string encodeConf(const raft::ConfState& c) {
  std::string s = bigEndian(c.voters.size());
  for (auto v : c.voters) s += bigEndian(v);
  s += bigEndian(c.learners.size());
  for (auto l : c.learners) s += bigEndian(l);
  return s;
}

raft::ConfState decodeConf(std::string_view s) {
  raft::ConfState c;
  auto take = [&]() {
    uint64_t v = s.size() >= 8 ? fromBigEndian(s) : 0;
    s.remove_prefix(std::min<size_t>(8, s.size()));
    return v;
  };
  for (uint64_t n = take(); n > 0 && !s.empty(); --n) c.voters.push_back(take());
  for (uint64_t n = take(); n > 0 && !s.empty(); --n) c.learners.push_back(take());
  return c;
}

std::string encodeEntry(const raft::Entry& e) {
  std::string v = bigEndian(e.term);
  v.push_back(static_cast<char>(e.type));
  v += e.data;
  return v;
}

rocksdb::Slice slice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

}  // namespace

Result<std::unique_ptr<RaftStorage>> RaftStorage::open(Db& db) {
  std::unique_ptr<RaftStorage> s(new RaftStorage(db));
  Status st = s->load();
  if (!st.ok()) return st.error();
  return s;
}

Status RaftStorage::load() {
  auto& impl = db_.impl();
  std::string v;
  auto get = [&](std::string_view key) -> Result<bool> {
    auto st = impl.db->Get(rocksdb::ReadOptions(), impl.cfs[kMeta], slice(key), &v);
    if (st.IsNotFound()) return false;
    if (!st.ok()) return fromStatus(st, "read raft state");
    return true;
  };
  auto found = get(kHardKey);
  if (!found.ok()) return found.error();
  if (*found && v.size() == 24)
    hard_ = {fromBigEndian(v), fromBigEndian(std::string_view(v).substr(8)),
             fromBigEndian(std::string_view(v).substr(16))};
  found = get(kConfKey);
  if (!found.ok()) return found.error();
  if (*found) conf_ = decodeConf(v);
  found = get(kFirstKey);
  if (!found.ok()) return found.error();
  if (*found && v.size() == 16) {
    snapIndex_ = fromBigEndian(v);
    snapTerm_ = fromBigEndian(std::string_view(v).substr(8));
  }
  std::unique_ptr<rocksdb::Iterator> it(
      impl.db->NewIterator(rocksdb::ReadOptions(), impl.cfs[kRaftLog]));
  it->SeekToLast();
  if (!it->status().ok()) return fromStatus(it->status(), "raft log seek");
  last_ = it->Valid() ? fromBigEndian(std::string_view(it->key().data(), it->key().size()))
                      : snapIndex_;
  if (last_ < snapIndex_) last_ = snapIndex_;
  return {};
}

Result<std::vector<raft::Entry>> RaftStorage::entries(uint64_t lo, uint64_t hi,
                                                      uint64_t maxBytes) const {
  if (lo <= snapIndex_) return Error{ErrorCode::kNotFound, raft::kCompacted};
  if (hi > last_ + 1) return Error{ErrorCode::kUnavailable, raft::kUnavailable};
  std::vector<raft::Entry> out;
  auto& impl = db_.impl();
  std::unique_ptr<rocksdb::Iterator> it(
      impl.db->NewIterator(rocksdb::ReadOptions(), impl.cfs[kRaftLog]));
  uint64_t bytes = 0;
  for (it->Seek(bigEndian(lo)); it->Valid(); it->Next()) {
    uint64_t idx = fromBigEndian(std::string_view(it->key().data(), it->key().size()));
    if (idx >= hi) break;
    std::string_view val(it->value().data(), it->value().size());
    if (val.size() < 9 || idx != lo + out.size())
      return corruption("raft log entry " + std::to_string(idx) + " is damaged or missing");
    raft::Entry e{fromBigEndian(val), idx, static_cast<raft::EntryType>(val[8]),
                  std::string(val.substr(9))};
    bytes += e.data.size() + 16;
    if (!out.empty() && bytes > maxBytes) break;
    out.push_back(std::move(e));
  }
  if (!it->status().ok()) return fromStatus(it->status(), "raft log read");
  if (out.empty() && lo < hi)
    return corruption("raft log entry " + std::to_string(lo) + " is missing");
  return out;
}

Result<uint64_t> RaftStorage::term(uint64_t i) const {
  if (i < snapIndex_) return Error{ErrorCode::kNotFound, raft::kCompacted};
  if (i == snapIndex_) return snapTerm_;
  if (i > last_) return Error{ErrorCode::kUnavailable, raft::kUnavailable};
  if (!termRuns_.empty() && i >= termRuns_.front().first) {
    auto it = std::upper_bound(termRuns_.begin(), termRuns_.end(), i,
                               [](uint64_t v, const auto& run) { return v < run.first; });
    return std::prev(it)->second;
  }
  auto& impl = db_.impl();
  std::string v;
  auto st = impl.db->Get(rocksdb::ReadOptions(), impl.cfs[kRaftLog], bigEndian(i), &v);
  if (!st.ok() || v.size() < 9)
    return corruption("raft log entry " + std::to_string(i) + " is missing");
  return fromBigEndian(v);
}

Result<raft::Snapshot> RaftStorage::snapshot() const {
  if (!snapData_) return Error{ErrorCode::kUnavailable, "snapshot temporarily unavailable"};
  auto data = snapData_();
  if (!data.ok()) return Error{ErrorCode::kUnavailable, data.error().message};
  return raft::Snapshot{snapMeta_, std::move(data).value()};
}

Status RaftStorage::save(const std::optional<raft::HardState>& hs,
                         const std::vector<raft::Entry>& ents, const raft::Snapshot& installed,
                         bool durable) {
  if (!hs && ents.empty() && installed.empty()) return {};
  auto& impl = db_.impl();
  rocksdb::WriteBatch batch;
  uint64_t newSnapIndex = snapIndex_, newSnapTerm = snapTerm_, newLast = last_;
  if (!installed.empty()) {
    // Everything before and at the snapshot is superseded by it.
    batch.DeleteRange(impl.cfs[kRaftLog], bigEndian(0), bigEndian(last_ + 1));
    newSnapIndex = installed.meta.index;
    newSnapTerm = installed.meta.term;
    newLast = newSnapIndex;
    batch.Put(impl.cfs[kMeta], slice(kFirstKey), bigEndian(newSnapIndex) + bigEndian(newSnapTerm));
    batch.Put(impl.cfs[kMeta], slice(kConfKey), encodeConf(installed.meta.conf));
  }
  if (!ents.empty()) {
    uint64_t first = ents.front().index;
    CAIRN_CHECK(first > newSnapIndex, "raft entries before the snapshot");
    CAIRN_CHECK(first <= newLast + 1, "raft entries leave a gap");
    // A conflicting suffix from another leader is replaced.
    if (first <= newLast)
      batch.DeleteRange(impl.cfs[kRaftLog], bigEndian(first), bigEndian(newLast + 1));
    for (const auto& e : ents) batch.Put(impl.cfs[kRaftLog], bigEndian(e.index), encodeEntry(e));
    newLast = ents.back().index;
  }
  if (hs) {
    batch.Put(impl.cfs[kMeta], slice(kHardKey),
              bigEndian(hs->term) + bigEndian(hs->vote) + bigEndian(hs->commit));
  }
  rocksdb::WriteOptions wo;
  wo.sync = durable;
  auto st = impl.db->Write(wo, &batch);
  if (!st.ok()) return fromStatus(st, "raft save");
  if (hs) hard_ = *hs;
  if (!installed.empty()) {
    conf_ = installed.meta.conf;
    snapMeta_ = installed.meta;
    snapData_ = [data = installed.data]() -> Result<std::shared_ptr<const raft::SnapshotData>> {
      return data;
    };
  }
  if (!installed.empty()) termRuns_.clear();
  if (!ents.empty()) {
    uint64_t first = ents.front().index;
    while (!termRuns_.empty() && termRuns_.back().first >= first) termRuns_.pop_back();
    for (const auto& e : ents)
      if (termRuns_.empty() || termRuns_.back().second != e.term)
        termRuns_.push_back({e.index, e.term});
  }
  snapIndex_ = newSnapIndex;
  snapTerm_ = newSnapTerm;
  last_ = newLast;
  return {};
}

Status RaftStorage::sync() {
  auto st = db_.impl().db->SyncWAL();
  if (!st.ok()) return fromStatus(st, "raft sync");
  return {};
}

Status RaftStorage::setConfState(const raft::ConfState& conf) {
  auto& impl = db_.impl();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto st = impl.db->Put(wo, impl.cfs[kMeta], slice(kConfKey), encodeConf(conf));
  if (!st.ok()) return fromStatus(st, "raft conf save");
  conf_ = conf;
  return {};
}

void RaftStorage::setSnapshot(uint64_t index, uint64_t term, const raft::ConfState& conf,
                              SnapshotSource data) {
  snapMeta_ = {index, term, conf};
  snapData_ = std::move(data);
}

Status RaftStorage::compact(uint64_t upTo) {
  if (upTo <= snapIndex_) return {};
  CAIRN_CHECK(upTo <= snapMeta_.index && upTo <= last_, "compacting past the snapshot");
  auto t = term(upTo);
  if (!t.ok()) return t.error();
  auto& impl = db_.impl();
  rocksdb::WriteBatch batch;
  batch.DeleteRange(impl.cfs[kRaftLog], bigEndian(0), bigEndian(upTo + 1));
  batch.Put(impl.cfs[kMeta], slice(kFirstKey), bigEndian(upTo) + bigEndian(*t));
  auto st = impl.db->Write(rocksdb::WriteOptions(), &batch);
  if (!st.ok()) return fromStatus(st, "raft compact");
  snapIndex_ = upTo;
  snapTerm_ = *t;
  return {};
}

}  // namespace cairn::storage
