// Rendezvous (highest random weight) hashing: which live server runs a
// check. Every server computes the same answer from the same list, with no
// coordination; when a server joins or leaves, only the checks it wins or
// held move (1/n of them), the rest stay where they are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::health {

// A stable 64-bit weight of (server, key): the same on every build and
// platform (FNV-1a over both, then a splitmix64 finaliser).
uint64_t rendezvousWeight(std::string_view server, std::string_view key);

// The server with the highest weight for `key`, ties broken by the smaller
// id; "" when `servers` is empty. The order of `servers` does not matter.
std::string rendezvousOwner(std::string_view key, const std::vector<std::string>& servers);

}  // namespace cairn::health
