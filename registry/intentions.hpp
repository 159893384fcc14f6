// Intention matching with Consul's precedence, as pure functions: which
// intention decides a connection from one service to another, and the order
// Consul lists intentions in.
//
// Precedence (Consul's table, one namespace): the destination's specificity
// counts first, then the source's.
//   source  destination  precedence
//   exact   exact        9
//   *       exact        8
//   exact   *            6
//   *       *            5
// The matching intention of highest precedence decides; since a source and
// destination pair is unique, at most one intention matches per level.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/connect.hpp"

namespace cairn::registry {

inline constexpr std::string_view kWildcard = "*";

int intentionPrecedence(const Intention& i);
bool intentionMatches(const Intention& i, std::string_view source, std::string_view destination);

// Consul's list order: precedence descending, then source name, destination
// name and ID ascending (a stable, total order).
bool intentionBefore(const Intention& a, const Intention& b);

struct IntentionDecision {
  bool allowed = false;
  const Intention* matched = nullptr;  // null: the default decided
  std::string reason;                  // as Consul's authorize endpoint words it
};

// The decision for a connection from `source` to `destination` given every
// intention; `defaultAllow` when none matches.
IntentionDecision decideIntention(const std::vector<const Intention*>& all, std::string_view source,
                                  std::string_view destination, bool defaultAllow);

// Checks what a client may set: names present, a wildcard only as the whole
// name, SourceType "consul", no '/' in names. kInvalidArgument names the field.
Status validateIntention(const Intention& i);

// "allow" / "deny" (any case).
std::optional<IntentionAction> parseIntentionAction(std::string_view s);

}  // namespace cairn::registry
