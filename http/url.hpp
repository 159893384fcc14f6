// Request-target parsing: percent-decoding of the path and query.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace cairn::http {

struct Target {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
};

// Splits "/v1/x%20y?a=1&b" into path "/v1/x y" and query {a:1, b:""}.
// Refuses malformed percent escapes and NUL bytes.
Result<Target> parseTarget(std::string_view target);

// Percent-decodes; `plusIsSpace` for query components.
Result<std::string> percentDecode(std::string_view s, bool plusIsSpace);

}  // namespace cairn::http
