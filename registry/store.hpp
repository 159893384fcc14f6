// CatalogStore: what the catalog needs from durable storage. Defined here,
// implemented in storage/ (RocksDB) so registry/ links no storage engine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::registry {

// kConnect: the mesh's CA ("ca") and intentions ("i/<id>").
enum class Table : uint8_t { kNodes, kServices, kChecks, kIndexes, kConnect };
inline constexpr Table kLastTable = Table::kConnect;

struct RowWrite {
  Table table;
  std::string key;
  std::string value;  // ignored when erase
  bool erase = false;
};

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;

  // Writes the rows and the applied index atomically (one batch). Need not
  // be synced: the replicated log is, and is replayed from appliedIndex().
  virtual Status commit(const std::vector<RowWrite>& rows, uint64_t appliedIndex) = 0;

  // The index stored by the last commit, 0 for a new store.
  virtual Result<uint64_t> appliedIndex() = 0;

  // Calls fn for every row of the table in key order.
  virtual Status scan(
      Table table, const std::function<void(std::string_view key, std::string_view value)>& fn) = 0;
};

}  // namespace cairn::registry
