#include "proxy/mesh_identity.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <ctime>

#include "registry/spiffe.hpp"

namespace cairn::proxy {
namespace json = boost::json;

namespace {

Result<json::object> parseObject(std::string_view body, const char* what) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return invalidArgument(std::string(what) + ": " + ec.message());
  if (!doc.is_object()) return invalidArgument(std::string(what) + ": expected a JSON object");
  return std::move(doc.get_object());
}

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

Result<int64_t> parseRfc3339(std::string_view text) {
  std::tm tm{};
  int* fields[] = {&tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec};
  const char seps[] = {'-', '-', 'T', ':', ':', 'Z'};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < 6; ++i) {
    auto [next, ec] = std::from_chars(p, end, *fields[i]);
    if (ec != std::errc() || next == end || *next != seps[i])
      return invalidArgument("\"" + std::string(text) +
                             "\" is not a time like 2026-01-02T03:04:05Z");
    p = next + 1;
  }
  if (p != end)
    return invalidArgument("\"" + std::string(text) + "\" is not a time like 2026-01-02T03:04:05Z");
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

Result<MeshLeaf> decodeMeshLeaf(std::string_view body) {
  auto o = parseObject(body, "leaf response");
  if (!o.ok()) return o.error();
  MeshLeaf l;
  l.certPem = str(*o, "CertPEM");
  l.keyPem = str(*o, "PrivateKeyPEM");
  l.serialHex = str(*o, "SerialNumber");
  l.serviceUri = str(*o, "ServiceURI");
  if (l.certPem.empty()) return invalidArgument("leaf response: CertPEM missing");
  if (l.keyPem.empty()) return invalidArgument("leaf response: PrivateKeyPEM missing");
  auto after = parseRfc3339(str(*o, "ValidAfter"));
  if (!after.ok()) return invalidArgument("leaf response: ValidAfter: " + after.error().message);
  auto before = parseRfc3339(str(*o, "ValidBefore"));
  if (!before.ok()) return invalidArgument("leaf response: ValidBefore: " + before.error().message);
  l.validAfter = *after;
  l.validBefore = *before;
  if (const json::value* v = o->if_contains("ModifyIndex"); v && v->is_number())
    l.index = v->to_number<uint64_t>();
  return l;
}

Result<MeshRoots> decodeMeshRoots(std::string_view body) {
  auto o = parseObject(body, "roots response");
  if (!o.ok()) return o.error();
  MeshRoots r;
  r.trustDomain = str(*o, "TrustDomain");
  r.activeRootId = str(*o, "ActiveRootID");
  if (r.trustDomain.empty())
    return unavailable("roots response: no TrustDomain (the CA is not initialized yet)");
  const json::value* list = o->if_contains("Roots");
  if (!list || !list->is_array()) return invalidArgument("roots response: Roots missing");
  for (const json::value& e : list->get_array()) {
    if (!e.is_object()) continue;
    const json::object& root = e.get_object();
    std::string pem = str(root, "RootCert");
    if (pem.empty()) continue;
    r.rootPems.push_back(std::move(pem));
    if (str(root, "ID") != r.activeRootId) continue;
    if (const json::value* inter = root.if_contains("IntermediateCerts");
        inter && inter->is_array())
      for (const json::value& c : inter->get_array())
        if (c.is_string()) r.activeIntermediates.emplace_back(c.get_string());
  }
  if (r.rootPems.empty()) return unavailable("roots response: no roots yet");
  return r;
}

Result<std::string> upstreamSpiffeId(const MeshLeaf& own, const MeshRoots& roots,
                                     std::string_view upstream) {
  auto self = registry::parseSpiffeServiceUri(own.serviceUri);
  if (!self)
    return invalidArgument("our leaf's ServiceURI \"" + own.serviceUri +
                           "\" is not a service SPIFFE ID");
  registry::SpiffeServiceId id;
  id.trustDomain = roots.trustDomain;
  id.datacenter = self->datacenter;
  id.service = std::string(upstream);
  return registry::spiffeServiceUri(id);
}

}  // namespace cairn::proxy
