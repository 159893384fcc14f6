#include "storage/db.hpp"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <array>

#include "storage/db_impl.hpp"

namespace cairn::storage {
namespace {

constexpr std::string_view kFormatKey = "format_version";

}  // namespace

std::string bigEndian(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

uint64_t fromBigEndian(std::string_view s) {
  uint64_t v = 0;
  for (unsigned char c : s.substr(0, 8)) v = (v << 8) | c;
  return v;
}

Error fromStatus(const rocksdb::Status& s, const std::string& what) {
  return ioError(what + ": " + s.ToString());
}

Db::Db(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Db::~Db() = default;

Result<std::unique_ptr<Db>> Db::open(const std::string& dir) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.max_background_jobs = 2;
  opts.keep_log_file_num = 2;
  opts.max_manifest_file_size = 16 << 20;
  // Bounds what a restart replays: past this much WAL, the column families
  // that hold its oldest part are flushed to SST files. Without it nothing
  // was flushed below 16 MiB per family, and a restart with 100,000
  // instances spent ~75 % of its 3-5 s replaying a 23 MiB WAL.
  opts.max_total_wal_size = 8 << 20;
  opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const char* name : kFamilies) {
    rocksdb::ColumnFamilyOptions cfo;
    cfo.write_buffer_size = 16 << 20;
    descs.emplace_back(name, cfo);
  }
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(rocksdb::DBOptions(opts), dir, descs, &impl->cfs, &raw);
  if (!s.ok()) return fromStatus(s, "open data dir " + dir);
  impl->db.reset(raw);
  std::unique_ptr<Db> db(new Db(std::move(impl)));
  auto fmt = db->getMeta(kFormatKey);
  if (!fmt.ok()) return fmt.error();
  if (fmt->empty()) {
    auto st = db->putMeta(kFormatKey, std::to_string(kFormatVersion));
    if (!st.ok()) return st.error();
  } else if (std::stoul(*fmt) > kFormatVersion) {
    return corruption("data dir " + dir + " has format version " + *fmt +
                      ", newer than this binary supports (" + std::to_string(kFormatVersion) +
                      "); upgrade cairn");
  }
  return db;
}

registry::CatalogStore& Db::catalogStore() {
  return *impl_;
}

Status Db::appendLog(const std::vector<LogEntry>& entries) {
  rocksdb::WriteBatch batch;
  for (const auto& e : entries) {
    std::string v = bigEndian(e.term);
    v += e.data;
    batch.Put(impl_->cfs[kLog], bigEndian(e.index), v);
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return fromStatus(s, "log append");
  return {};
}

Result<std::vector<LogEntry>> Db::readLog(uint64_t from, uint64_t to) {
  std::vector<LogEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfs[kLog]));
  for (it->Seek(bigEndian(from)); it->Valid(); it->Next()) {
    uint64_t idx = fromBigEndian(std::string_view(it->key().data(), it->key().size()));
    if (idx > to) break;
    if (it->value().size() < 8) return corruption("log entry " + std::to_string(idx) + " is short");
    std::string_view v(it->value().data(), it->value().size());
    out.push_back({idx, fromBigEndian(v.substr(0, 8)), std::string(v.substr(8))});
  }
  if (!it->status().ok()) return fromStatus(it->status(), "log read");
  return out;
}

Result<uint64_t> Db::lastLogIndex() {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfs[kLog]));
  it->SeekToLast();
  if (!it->status().ok()) return fromStatus(it->status(), "log seek");
  if (!it->Valid()) return uint64_t{0};
  return fromBigEndian(std::string_view(it->key().data(), it->key().size()));
}

Status Db::truncateLogPrefix(uint64_t upTo) {
  auto s = impl_->db->DeleteRange(rocksdb::WriteOptions(), impl_->cfs[kLog], bigEndian(0),
                                  bigEndian(upTo + 1));
  if (!s.ok()) return fromStatus(s, "log truncate");
  return {};
}

Status Db::syncCatalog() {
  auto s = impl_->db->SyncWAL();
  if (!s.ok()) return fromStatus(s, "sync wal");
  return {};
}

namespace {

// Adds to `batch` the deletion of every catalog row.
void clearCatalog(Db::Impl& impl, rocksdb::WriteBatch& batch) {
  for (int cf : {kNodes, kServices, kChecks, kIndexes, kConnect}) {
    std::unique_ptr<rocksdb::Iterator> it(
        impl.db->NewIterator(rocksdb::ReadOptions(), impl.cfs[cf]));
    it->SeekToFirst();
    if (!it->Valid()) continue;
    std::string first = it->key().ToString();
    it->SeekToLast();
    std::string last = it->key().ToString() + '\xff';
    batch.DeleteRange(impl.cfs[cf], first, last);
    batch.Delete(impl.cfs[cf], it->key());
  }
}

}  // namespace

Status Db::beginCatalogInstall(std::string_view marker) {
  rocksdb::WriteBatch batch;
  clearCatalog(*impl_, batch);
  batch.Put(impl_->cfs[kMeta], rocksdb::Slice(kInstallMarkerKey.data(), kInstallMarkerKey.size()),
            rocksdb::Slice(marker.data(), marker.size()));
  batch.Put(impl_->cfs[kMeta], rocksdb::Slice(kAppliedKey.data(), kAppliedKey.size()),
            bigEndian(0));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return fromStatus(s, "begin snapshot install");
  return {};
}

Status Db::putCatalogRows(const std::vector<registry::RowWrite>& rows) {
  rocksdb::WriteBatch batch;
  for (const auto& r : rows) batch.Put(impl_->tableCf(r.table), r.key, r.value);
  auto s = impl_->db->Write(rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return fromStatus(s, "snapshot install rows");
  return {};
}

Status Db::finishCatalogInstall(uint64_t appliedIndex) {
  rocksdb::WriteBatch batch;
  batch.Put(impl_->cfs[kMeta], rocksdb::Slice(kAppliedKey.data(), kAppliedKey.size()),
            bigEndian(appliedIndex));
  batch.Delete(impl_->cfs[kMeta],
               rocksdb::Slice(kInstallMarkerKey.data(), kInstallMarkerKey.size()));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return fromStatus(s, "finish snapshot install");
  return {};
}

Status Db::replaceCatalog(const std::vector<registry::RowWrite>& rows, uint64_t appliedIndex) {
  rocksdb::WriteBatch batch;
  clearCatalog(*impl_, batch);
  for (const auto& r : rows) batch.Put(impl_->tableCf(r.table), r.key, r.value);
  batch.Put(impl_->cfs[kMeta], rocksdb::Slice(kAppliedKey.data(), kAppliedKey.size()),
            bigEndian(appliedIndex));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return fromStatus(s, "replace catalog");
  return {};
}

Result<std::string> Db::getMeta(std::string_view key) {
  std::string v;
  auto s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cfs[kMeta],
                          rocksdb::Slice(key.data(), key.size()), &v);
  if (s.IsNotFound()) return std::string();
  if (!s.ok()) return fromStatus(s, "read meta");
  return v;
}

Status Db::putMeta(std::string_view key, std::string_view value) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto s = impl_->db->Put(wo, impl_->cfs[kMeta], rocksdb::Slice(key.data(), key.size()),
                          rocksdb::Slice(value.data(), value.size()));
  if (!s.ok()) return fromStatus(s, "write meta");
  return {};
}

Result<std::vector<std::pair<std::string, std::string>>> Db::scanMeta(std::string_view prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cfs[kMeta]));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix) break;
    out.emplace_back(std::string(k), it->value().ToString());
  }
  if (!it->status().ok()) return fromStatus(it->status(), "scan meta");
  return out;
}

Status Db::writeMeta(const std::vector<MetaWrite>& writes, bool sync) {
  rocksdb::WriteBatch batch;
  for (const auto& w : writes) {
    rocksdb::Slice key(w.key.data(), w.key.size());
    if (w.value)
      batch.Put(impl_->cfs[kMeta], key, rocksdb::Slice(w.value->data(), w.value->size()));
    else
      batch.Delete(impl_->cfs[kMeta], key);
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto s = impl_->db->Write(wo, &batch);
  if (!s.ok()) return fromStatus(s, "write meta");
  return {};
}

}  // namespace cairn::storage
