// The server's RocksDB database: the replicated log, the catalog's tables
// and metadata, each in its own column family. RocksDB types stay in db.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "registry/store.hpp"

namespace cairn::storage {

// Version of the on-disk layout. A binary refuses a data dir written by a
// newer layout it does not know.
inline constexpr uint32_t kFormatVersion = 1;

struct LogEntry {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string data;
};

class Db {
 public:
  // Opens (creating if needed) the database in `dir`. Fails with a clear
  // message if the directory is locked by another process or was written by
  // a newer format.
  static Result<std::unique_ptr<Db>> open(const std::string& dir);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // The catalog's store (rows + applied index). Lives as long as the Db.
  registry::CatalogStore& catalogStore();

  // Appends entries to the log in one synced batch. Thread: the caller must
  // serialise appends.
  Status appendLog(const std::vector<LogEntry>& entries);
  // Entries with index in [from, to], in order.
  Result<std::vector<LogEntry>> readLog(uint64_t from, uint64_t to);
  // Highest log index stored, 0 when empty.
  Result<uint64_t> lastLogIndex();
  // Deletes log entries with index <= upTo. The caller guarantees they are
  // durably applied (syncs the catalog first, see syncCatalog()).
  Status truncateLogPrefix(uint64_t upTo);
  // Makes every catalog commit so far durable (fsync of the WAL).
  Status syncCatalog();

  // Deletes every catalog row and writes `rows` and the applied index, in
  // one batch (installing a Raft snapshot).
  Status replaceCatalog(const std::vector<registry::RowWrite>& rows, uint64_t appliedIndex);

  // Installing a snapshot too large for one batch, with bounded memory:
  // begin deletes every catalog row and durably records `marker` (what the
  // caller needs to start the install over: the snapshot's file and
  // metadata); rows then go in batches; finish writes the applied index and
  // clears the marker, synced. After a crash in between, installMarker()
  // is not empty and the catalog is partial: install again.
  Status beginCatalogInstall(std::string_view marker);
  Status putCatalogRows(const std::vector<registry::RowWrite>& rows);
  Status finishCatalogInstall(uint64_t appliedIndex);
  Result<std::string> installMarker() { return getMeta(kInstallMarkerKey); }
  static constexpr std::string_view kInstallMarkerKey = "snapshot_install";

  // Small metadata values (node ID, cluster ID, ...).
  Result<std::string> getMeta(std::string_view key);  // "" when absent
  Status putMeta(std::string_view key, std::string_view value);
  // Every metadata key that starts with `prefix`, with its value, in key order.
  Result<std::vector<std::pair<std::string, std::string>>> scanMeta(std::string_view prefix);
  // Puts (value set) and deletes (no value) in one batch. Not synced unless
  // `sync`: the write survives the process, not a power loss.
  struct MetaWrite {
    std::string key;
    std::optional<std::string> value;
  };
  Status writeMeta(const std::vector<MetaWrite>& writes, bool sync);

  struct Impl;
  // Internal to storage/ (Impl is defined in db_impl.hpp).
  Impl& impl() { return *impl_; }

 private:
  explicit Db(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::storage
