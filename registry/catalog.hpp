// Catalog: the registry's state machine. Applies committed commands in log
// order, deterministically, writes their rows to the CatalogStore and
// publishes a new immutable View through the WatchHub.
//
// Threading: apply() and flush() run on one thread (the replicator's apply
// thread). view() and watches() are safe from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/command.hpp"
#include "registry/store.hpp"
#include "registry/view.hpp"
#include "registry/watch.hpp"

namespace cairn::registry {

class Catalog {
 public:
  // Loads every row of the store into memory and publishes the first view.
  static Result<std::unique_ptr<Catalog>> open(CatalogStore& store);

  // Applies the command at log `index` (> appliedIndex()) to the pending
  // state. The result is the command's own outcome (an invalid command is a
  // no-op that still consumes its index); nothing is visible to readers or
  // stored until flush().
  Status apply(uint64_t index, std::string_view command);
  Status apply(uint64_t index, const Command& command);

  // Writes the pending rows and applied index in one batch, then publishes
  // the view and wakes the watchers of what changed (all of them after a
  // RestoreCommand). A store failure is
  // returned and nothing is published.
  Status flush();

  // Consumes a log index that carries no catalog command (an empty entry
  // of a new term, a membership change).
  void skip(uint64_t index) {
    CAIRN_CHECK(index > next_.index, "catalog skips indexes in increasing order");
    next_.index = index;
  }

  // Reloads everything from the store (after a snapshot was written into
  // it) and publishes it, waking every watcher.
  Status reload();

  uint64_t appliedIndex() const { return next_.index; }
  ViewPtr view() const { return hub_.view(); }
  WatchHub& watches() { return hub_; }

 private:
  Catalog(CatalogStore& store, View loaded);

  CatalogStore& store_;
  WatchHub hub_;
  View next_;  // the state with everything applied, ahead of the published view
  std::vector<RowWrite> rows_;
  std::vector<std::string> changedKeys_;
  bool wakeAll_ = false;  // a restore is pending: the next flush wakes every watcher
};

}  // namespace cairn::registry
