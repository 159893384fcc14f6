// A catalog snapshot as bytes: every row of the store, as the Raft
// snapshot that a lagging server installs. Built from an immutable View, so
// it is consistent at that view's index while writes go on.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/store.hpp"
#include "registry/view.hpp"

namespace cairn::registry {

std::string serializeView(const View& v);
Result<std::vector<RowWrite>> parseSnapshot(std::string_view data);

}  // namespace cairn::registry
