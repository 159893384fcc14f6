// A catalog snapshot as bytes: every row of the store, as the Raft
// snapshot that a lagging server installs. Built from an immutable View, so
// it is consistent at that view's index while writes go on.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/store.hpp"
#include "registry/view.hpp"

namespace cairn::registry {

std::string serializeView(const View& v);
Result<std::vector<RowWrite>> parseSnapshot(std::string_view data);

// Calls fn for every store row that holds the view (the rows serializeView
// writes, in the same order).
using RowFn = std::function<void(Table, std::string_view key, std::string_view value)>;
void forEachRow(const View& v, const RowFn& fn);
// The same keys without encoding the values (to erase a whole catalog).
void forEachRowKey(const View& v, const std::function<void(Table, std::string_view key)>& fn);

}  // namespace cairn::registry
