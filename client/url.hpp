// Percent-encoding for the parts of a request target we build from user input.
#pragma once

#include <string>
#include <string_view>

namespace cairn::client {

// Encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~),
// so the result is safe as one path segment or one query value: "/" becomes
// %2F and a space %20.
std::string escapeComponent(std::string_view text);

}  // namespace cairn::client
