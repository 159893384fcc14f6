// Internal to storage/: the RocksDB handles behind Db, shared by the
// catalog store (db.cpp) and the Raft storage (raft_storage.cpp).
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry/store.hpp"
#include "storage/db.hpp"

namespace cairn::storage {

// "connect" came later (the mesh's CA and intentions); a data dir without it
// gets it created at open.
inline constexpr std::array<const char*, 9> kFamilies = {
    "default", "log", "nodes", "services", "checks", "indexes", "meta", "raft_log", "connect"};
enum Cf { kDefault, kLog, kNodes, kServices, kChecks, kIndexes, kMeta, kRaftLog, kConnect };
inline constexpr std::string_view kAppliedKey = "applied_index";

std::string bigEndian(uint64_t v);
uint64_t fromBigEndian(std::string_view s);
Error fromStatus(const rocksdb::Status& s, const std::string& what);

struct Db::Impl final : registry::CatalogStore {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;

  ~Impl() override {
    // A clean shutdown leaves nothing in the WAL to replay at the next start.
    if (db && !cfs.empty()) db->Flush(rocksdb::FlushOptions(), cfs).PermitUncheckedError();
    for (auto* h : cfs) db->DestroyColumnFamilyHandle(h);
    cfs.clear();
    if (db) db->Close().PermitUncheckedError();
  }

  rocksdb::ColumnFamilyHandle* tableCf(registry::Table t) {
    switch (t) {
      case registry::Table::kNodes:
        return cfs[kNodes];
      case registry::Table::kServices:
        return cfs[kServices];
      case registry::Table::kChecks:
        return cfs[kChecks];
      case registry::Table::kIndexes:
        return cfs[kIndexes];
      case registry::Table::kConnect:
        return cfs[kConnect];
    }
    return cfs[kDefault];
  }

  Status commit(const std::vector<registry::RowWrite>& rows, uint64_t appliedIndex) override {
    rocksdb::WriteBatch batch;
    for (const auto& r : rows) {
      auto* cf = tableCf(r.table);
      if (r.erase)
        batch.Delete(cf, r.key);
      else
        batch.Put(cf, r.key, r.value);
    }
    batch.Put(cfs[kMeta], rocksdb::Slice(kAppliedKey.data(), kAppliedKey.size()),
              bigEndian(appliedIndex));
    auto s = db->Write(rocksdb::WriteOptions(), &batch);
    if (!s.ok()) return fromStatus(s, "catalog commit");
    return {};
  }

  Result<uint64_t> appliedIndex() override {
    std::string v;
    auto s = db->Get(rocksdb::ReadOptions(), cfs[kMeta],
                     rocksdb::Slice(kAppliedKey.data(), kAppliedKey.size()), &v);
    if (s.IsNotFound()) return uint64_t{0};
    if (!s.ok()) return fromStatus(s, "read applied index");
    return fromBigEndian(v);
  }

  Status scan(registry::Table t,
              const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), tableCf(t)));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      fn(std::string_view(it->key().data(), it->key().size()),
         std::string_view(it->value().data(), it->value().size()));
    if (!it->status().ok()) return fromStatus(it->status(), "catalog scan");
    return {};
  }
};

}  // namespace cairn::storage
