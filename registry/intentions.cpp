#include "registry/intentions.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>

namespace cairn::registry {

std::string_view toString(IntentionAction a) {
  return a == IntentionAction::kAllow ? "allow" : "deny";
}

std::optional<IntentionAction> parseIntentionAction(std::string_view s) {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "allow") return IntentionAction::kAllow;
  if (lower == "deny") return IntentionAction::kDeny;
  return std::nullopt;
}

bool Intention::sameContent(const Intention& o) const {
  return id == o.id && sourceName == o.sourceName && destinationName == o.destinationName &&
         sourceType == o.sourceType && action == o.action && description == o.description &&
         meta == o.meta;
}

int intentionPrecedence(const Intention& i) {
  bool srcExact = i.sourceName != kWildcard;
  bool dstExact = i.destinationName != kWildcard;
  // Consul counts exact parts of (namespace, name); the namespace is always
  // exact here, so a name adds 1 to it.
  if (dstExact) return srcExact ? 9 : 8;
  return srcExact ? 6 : 5;
}

bool intentionMatches(const Intention& i, std::string_view source, std::string_view destination) {
  return (i.sourceName == kWildcard || i.sourceName == source) &&
         (i.destinationName == kWildcard || i.destinationName == destination);
}

bool intentionBefore(const Intention& a, const Intention& b) {
  int pa = intentionPrecedence(a), pb = intentionPrecedence(b);
  if (pa != pb) return pa > pb;
  return std::tie(a.sourceName, a.destinationName, a.id) <
         std::tie(b.sourceName, b.destinationName, b.id);
}

IntentionDecision decideIntention(const std::vector<const Intention*>& all, std::string_view source,
                                  std::string_view destination, bool defaultAllow) {
  const Intention* best = nullptr;
  for (const Intention* i : all) {
    if (!intentionMatches(*i, source, destination)) continue;
    if (!best || intentionBefore(*i, *best)) best = i;
  }
  IntentionDecision d;
  if (!best) {
    d.allowed = defaultAllow;
    d.reason = "Default behavior configured by connect.default_intention_policy (" +
               std::string(defaultAllow ? "allow" : "deny") + ")";
    return d;
  }
  d.allowed = best->action == IntentionAction::kAllow;
  d.matched = best;
  d.reason = "Matched L4 intention: " + best->sourceName + " => " + best->destinationName + " (" +
             std::string(toString(best->action)) + ")";
  return d;
}

namespace {

Status validateName(const char* field, const std::string& v) {
  if (v.empty()) return invalidArgument(std::string(field) + " must be set");
  if (v.size() > 256) return invalidArgument(std::string(field) + ": longer than 256 bytes");
  if (v.find('*') != std::string::npos && v != kWildcard)
    return invalidArgument(std::string(field) +
                           ": wildcard character '*' cannot be used with partial values");
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f || c == '/')
      return invalidArgument(std::string(field) + ": contains an invalid character");
  return {};
}

}  // namespace

Status validateIntention(const Intention& i) {
  if (Status st = validateName("SourceName", i.sourceName); !st.ok()) return st;
  if (Status st = validateName("DestinationName", i.destinationName); !st.ok()) return st;
  if (i.sourceType != "consul")
    return invalidArgument("SourceType must be \"consul\", not \"" + i.sourceType + "\"");
  if (i.description.size() > 4096) return invalidArgument("Description: longer than 4096 bytes");
  if (i.meta.size() > 64) return invalidArgument("Meta: more than 64 keys");
  return {};
}

}  // namespace cairn::registry
