// Go-style durations ("10s", "1m30s", "250ms", "5m") as Consul accepts them.
#pragma once

#include <chrono>
#include <string_view>

#include "common/result.hpp"

namespace cairn {

// Parses a Go duration string. A bare number is taken as seconds, as Consul's
// HTTP API does for `wait`. Negative and overflowing values are refused.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// Formats as Go would for whole units ("10s", "1m0s", "250ms").
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace cairn
