#include "proxy/authorizer.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>

#include "registry/intentions.hpp"
#include "registry/spiffe.hpp"

namespace cairn::proxy {
namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

Result<std::string> field(const json::object& o, std::string_view key, bool required) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (required) return invalidArgument("intention without " + std::string(key));
    return std::string();
  }
  if (!v->is_string()) return invalidArgument("intention " + std::string(key) + ": not a string");
  return std::string(v->get_string());
}

}  // namespace

Result<std::vector<registry::Intention>> decodeIntentionsFor(std::string_view body,
                                                             std::string_view destination) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return invalidArgument("intentions response: " + ec.message());
  if (!doc.is_array()) return invalidArgument("intentions response: expected a JSON array");
  std::vector<registry::Intention> out;
  for (const json::value& e : doc.get_array()) {
    if (!e.is_object()) return invalidArgument("intentions response: expected objects");
    const json::object& o = e.get_object();
    registry::Intention in;
    auto dst = field(o, "DestinationName", true);
    if (!dst.ok()) return dst.error();
    if (*dst != destination && *dst != registry::kWildcard) continue;
    auto src = field(o, "SourceName", true);
    if (!src.ok()) return src.error();
    auto action = field(o, "Action", true);
    if (!action.ok()) return action.error();
    auto a = registry::parseIntentionAction(*action);
    if (!a)
      return invalidArgument("intention " + *src + " => " + *dst + ": unknown Action \"" + *action +
                             "\"");
    auto id = field(o, "ID", false);
    if (!id.ok()) return id.error();
    in.id = std::move(*id);
    in.sourceName = std::move(*src);
    in.destinationName = std::move(*dst);
    in.action = *a;
    out.push_back(std::move(in));
  }
  return out;
}

Result<bool> decodeCheckAllowed(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return invalidArgument("intention check response: " + ec.message());
  const json::value* v = doc.is_object() ? doc.get_object().if_contains("Allowed") : nullptr;
  if (!v || !v->is_bool()) return invalidArgument("intention check response: no Allowed");
  return v->get_bool();
}

std::optional<std::string> rootTrustDomain(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.size() <= kScheme.size() || lower(uri.substr(0, kScheme.size())) != kScheme)
    return std::nullopt;
  uri.remove_prefix(kScheme.size());
  if (!uri.empty() && uri.back() == '/') uri.remove_suffix(1);
  if (uri.empty() || uri.find('/') != std::string_view::npos) return std::nullopt;
  return lower(uri);
}

Decision Authorizer::decide(const std::vector<std::string>& peerUris,
                            const std::vector<std::string>& trustDomains) const {
  Decision d;
  std::optional<registry::SpiffeServiceId> id;
  for (const auto& u : peerUris) {
    auto parsed = registry::parseSpiffeServiceUri(u);
    if (!parsed) continue;
    if (id) {
      d.reason = "the certificate carries more than one SPIFFE service ID";
      return d;
    }
    id = std::move(parsed);
  }
  if (!id) {
    d.reason = "the certificate carries no SPIFFE service ID";
    return d;
  }
  d.source = id->service;
  if (id->ns != "default") {
    d.reason = "namespace \"" + id->ns + "\" does not exist";
    return d;
  }
  if (!trustDomains.empty() &&
      std::none_of(trustDomains.begin(), trustDomains.end(),
                   [&](const std::string& td) { return lower(td) == id->trustDomain; })) {
    d.reason = "identity from an external trust domain (" + id->trustDomain + ")";
    return d;
  }
  if (!ready()) {
    d.reason = "no intentions from the agent yet (fail closed)";
    return d;
  }
  return decideSource(id->service);
}

Decision Authorizer::decideSource(const std::string& source) const {
  std::vector<const registry::Intention*> all;
  all.reserve(set_->intentions.size());
  for (const auto& i : set_->intentions) all.push_back(&i);
  auto r = registry::decideIntention(all, source, destination_, set_->defaultAllow);
  Decision d;
  d.allowed = r.allowed;
  d.source = source;
  d.reason = std::move(r.reason);
  if (r.matched) d.intentionId = r.matched->id;
  return d;
}

}  // namespace cairn::proxy
