// The deterministic core of Catalog::apply, kept apart from publication and
// storage so it can be tested as plain functions.
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"
#include "registry/command.hpp"
#include "registry/store.hpp"
#include "registry/view.hpp"

namespace cairn::registry {

// One command applied to a copy of the state. The copy shares structure with
// the original (PMap), so a failed command is discarded at no cost.
class Mutation {
 public:
  Mutation(const View& base, uint64_t index) : w_(base), idx_(index) {}

  Status apply(const Command& cmd);
  const View& result() const { return w_; }
  // True once a RestoreCommand replaced everything: every watcher must wake.
  bool replacedAll() const { return replacedAll_; }
  // Moves the rows written and the watch keys touched onto the given lists.
  void takeChanges(std::vector<RowWrite>& rows, std::vector<std::string>& keys);

 private:
  Status registerCmd(const RegisterCommand& c);
  Status deregister(const DeregisterCommand& c);
  Status checkStatus(const CheckStatusCommand& c);
  Status restore(const RestoreCommand& c);
  Status aclCmd(const AclCommand& c);  // acl_apply.cpp

  void putNode(Node n);
  void removeService(const std::string& node, const std::string& id);
  void removeCheck(const std::string& node, const std::string& checkId);
  void putCheck(CheckPtr c);
  // Replaces (or with null, removes) a check in its owner's list.
  void setOwnerCheck(const Check& c, const CheckPtr& value);
  void touchService(const std::string& name);
  void touchNode(const std::string& name, bool withServices);
  void setTableIndex(std::string_view key, uint64_t View::*field);

  View w_;
  uint64_t idx_;
  std::vector<RowWrite> rows_;
  std::vector<std::string> keys_;
  bool replacedAll_ = false;
};

// Rebuilds the catalog state from the store's rows.
Result<View> loadView(CatalogStore& store);

// The catalog that a RestoreCommand at log `index` makes of a snapshot
// payload (snapshot_file.hpp). Every row is decoded and checked: keys match
// their records, every service and check has its node, every service check
// its instance, no key repeats. kInvalidArgument names the first problem.
//
// Every record's CreateIndex and ModifyIndex, and every node, service and
// table index, becomes `index`. (Consul keeps the snapshot's own indexes, and
// can because hashicorp/raft moves its log index past the snapshot's on a
// restore. A Cairn log index cannot jump: indexes from another cluster's
// history could be ahead of this log, and then X-Consul-Index would go
// backwards at the next write and blocking queries would miss changes. A
// fresh index that is higher than anything before also wakes every watcher.)
Result<View> restoredView(std::string_view payload, uint64_t index);

}  // namespace cairn::registry
