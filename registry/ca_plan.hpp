// What to propose to the CA: the CaSetCommands of a bootstrap, a rotation
// and the pruning of old roots, built from the current state. Certificates
// are made here (ca_certs.hpp); the commands are then replicated, and the
// compare-and-set in apply keeps concurrent proposers from colliding.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"
#include "registry/connect.hpp"

namespace cairn::registry {

inline constexpr int64_t kRootTtlSeconds = int64_t{10} * 365 * 86400;

// A new CA with one active root for the cluster `clusterId` (a UUID).
Result<CaSetCommand> planBootstrap(const std::string& clusterId, int64_t now);

// A new active root, cross-signed by the current active one (its
// IntermediateCerts), which stays in the roots as inactive: leaves of the
// old root keep verifying until they expire.
Result<CaSetCommand> planRotation(const CaState& current, int64_t now);

// The command that drops inactive roots rotated out more than
// leafTtlSeconds (+ 1 h of slack) ago, when there are any: no leaf they
// signed can still be valid.
std::optional<CaSetCommand> planPrune(const CaState& current, int64_t now, int64_t leafTtlSeconds);

}  // namespace cairn::registry
