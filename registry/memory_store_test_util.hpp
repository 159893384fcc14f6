// An in-memory CatalogStore for tests of registry/ alone.
#pragma once

#include <map>

#include "registry/store.hpp"

namespace cairn::registry::testing {

class MemoryStore final : public CatalogStore {
 public:
  Status commit(const std::vector<RowWrite>& rows, uint64_t applied) override {
    if (failNext) {
      failNext = false;
      return ioError("injected failure");
    }
    for (const auto& r : rows) {
      auto& t = tables[static_cast<int>(r.table)];
      if (r.erase)
        t.erase(r.key);
      else
        t[r.key] = r.value;
    }
    appliedIdx = applied;
    ++commits;
    return {};
  }
  Result<uint64_t> appliedIndex() override { return appliedIdx; }
  Status scan(Table t, const std::function<void(std::string_view, std::string_view)>& fn) override {
    for (const auto& [k, v] : tables[static_cast<int>(t)]) fn(k, v);
    return {};
  }

  std::map<std::string, std::string> tables[5];
  uint64_t appliedIdx = 0;
  int commits = 0;
  bool failNext = false;
};

}  // namespace cairn::registry::testing
