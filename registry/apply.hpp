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
  // Moves the rows written and the watch keys touched onto the given lists.
  void takeChanges(std::vector<RowWrite>& rows, std::vector<std::string>& keys);

 private:
  Status registerCmd(const RegisterCommand& c);
  Status deregister(const DeregisterCommand& c);
  Status checkStatus(const CheckStatusCommand& c);

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
};

// Rebuilds the catalog state from the store's rows.
Result<View> loadView(CatalogStore& store);

}  // namespace cairn::registry
