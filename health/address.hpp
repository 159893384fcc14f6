// Parsing of the host:port strings check definitions carry (TCP, GRPC).
// Pure: no resolution, no sockets.
#pragma once

#include <string>
#include <string_view>

namespace cairn::health {

// host:port or [v6]:port. False (outputs unspecified) if either part is empty
// or the brackets do not close before the port.
bool splitHostPort(std::string_view a, std::string& host, std::string& port);

// The inverse, for an HTTP authority: a v6 address gets its brackets back.
std::string joinHostPort(std::string_view host, std::string_view port);

}  // namespace cairn::health
