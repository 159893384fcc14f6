// Runs a watch handler: a command with the watch's JSON on its stdin.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace cairn::cli {

// Starts argv[0] (searched in $PATH) with `argv`, the environment plus
// `extraEnv`, `input` on its stdin (closed after), and stdout and stderr
// inherited; waits for it. Returns its exit status (128 + N when killed by
// signal N). Fails when it cannot be started. A handler that exits without
// reading its input is not an error.
Result<int> runHandler(const std::vector<std::string>& argv, std::string_view input,
                       const std::vector<std::pair<std::string, std::string>>& extraEnv);

}  // namespace cairn::cli
