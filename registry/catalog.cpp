#include "registry/catalog.hpp"

#include <algorithm>
#include <set>

#include "common/memory.hpp"
#include "registry/apply.hpp"

namespace cairn::registry {

Catalog::Catalog(CatalogStore& store, View loaded)
    : store_(store), hub_(std::make_shared<const View>(loaded)), next_(std::move(loaded)) {}

Result<std::unique_ptr<Catalog>> Catalog::open(CatalogStore& store) {
  auto loaded = loadView(store);
  if (!loaded.ok()) return loaded.error();
  return std::unique_ptr<Catalog>(new Catalog(store, std::move(loaded).value()));
}

Status Catalog::apply(uint64_t index, std::string_view command) {
  auto cmd = decodeCommand(command);
  if (!cmd.ok()) {
    // A command this binary cannot read still consumes its index, so every
    // server keeps the same applied index; the proposer gets the error.
    next_.index = index;
    return cmd.error();
  }
  return apply(index, *cmd);
}

Status Catalog::apply(uint64_t index, const Command& command) {
  CAIRN_CHECK(index > next_.index, "catalog applies indexes in increasing order");
  Mutation m(next_, index);
  Status st = m.apply(command);
  if (st.ok()) {
    next_ = m.result();
    m.takeChanges(rows_, changedKeys_);
    if (m.replacedAll()) wakeAll_ = true;
  }
  next_.index = index;
  return st;
}

Status Catalog::flush() {
  Status st = store_.commit(rows_, next_.index);
  if (!st.ok()) return st;
  rows_.clear();
  if (wakeAll_) {
    rows_.shrink_to_fit();  // a restore's rows: the whole catalog, twice
    hub_.publishAll(std::make_shared<const View>(next_));
    // The old catalog and the restore's decoding buffers are garbage now
    // (once readers let go of the old view).
    releaseFreeMemory();
  } else {
    std::sort(changedKeys_.begin(), changedKeys_.end());
    changedKeys_.erase(std::unique(changedKeys_.begin(), changedKeys_.end()), changedKeys_.end());
    hub_.publish(std::make_shared<const View>(next_), changedKeys_);
  }
  changedKeys_.clear();
  wakeAll_ = false;
  return {};
}

Status Catalog::reload() {
  auto loaded = loadView(store_);
  if (!loaded.ok()) return loaded.error();
  next_ = std::move(loaded).value();
  rows_.clear();
  changedKeys_.clear();
  wakeAll_ = false;
  hub_.publishAll(std::make_shared<const View>(next_));
  releaseFreeMemory();
  return {};
}

}  // namespace cairn::registry
