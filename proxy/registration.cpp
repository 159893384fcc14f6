#include "proxy/registration.hpp"

#include <boost/json.hpp>

namespace cairn::proxy {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<uint16_t> port(const json::object& o, std::string_view key, const std::string& what) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return uint16_t{0};
  if (!v->is_int64() || v->get_int64() < 0 || v->get_int64() > 65535)
    return invalidArgument(what + std::string(key) + ": expected a port number");
  return static_cast<uint16_t>(v->get_int64());
}

const json::object* obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

Result<json::value> parse(std::string_view body, const char* what) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return invalidArgument(std::string(what) + ": " + ec.message());
  return doc;
}

}  // namespace

Result<ProxyRegistration> decodeProxyRegistration(std::string_view body) {
  auto doc = parse(body, "proxy service");
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) return invalidArgument("proxy service: expected a JSON object");
  const json::object& s = doc->get_object();
  ProxyRegistration r;
  r.id = str(s, "ID");
  std::string what = "proxy service " + r.id + ": ";
  if (str(s, "Kind") != "connect-proxy")
    return invalidArgument(what + "Kind is \"" + str(s, "Kind") + "\", not connect-proxy");
  const json::object* p = obj(s, "Proxy");
  if (!p) return invalidArgument(what + "no Proxy block");
  r.destinationService = str(*p, "DestinationServiceName");
  if (r.destinationService.empty())
    return invalidArgument(what + "Proxy.DestinationServiceName is empty");
  r.destinationServiceId = str(*p, "DestinationServiceID");
  r.address = str(s, "Address");
  auto pt = port(s, "Port", what);
  if (!pt.ok()) return pt.error();
  r.port = *pt;
  r.localServiceAddress = str(*p, "LocalServiceAddress");
  auto lp = port(*p, "LocalServicePort", what + "Proxy.");
  if (!lp.ok()) return lp.error();
  r.localServicePort = *lp;
  if (const json::value* ups = p->if_contains("Upstreams"); ups && ups->is_array()) {
    for (const json::value& e : ups->get_array()) {
      if (!e.is_object()) return invalidArgument(what + "Proxy.Upstreams: expected objects");
      const json::object& u = e.get_object();
      std::string type = str(u, "DestinationType");
      if (!type.empty() && type != "service")
        return invalidArgument(what + "Proxy.Upstreams: DestinationType \"" + type +
                               "\" is not supported (only service)");
      ProxyRegistration::Upstream up;
      up.name = str(u, "DestinationName");
      if (up.name.empty()) return invalidArgument(what + "Proxy.Upstreams: DestinationName empty");
      up.bindAddress = str(u, "LocalBindAddress");
      auto bp = port(u, "LocalBindPort", what + "Proxy.Upstreams[" + up.name + "].");
      if (!bp.ok()) return bp.error();
      up.bindPort = *bp;
      r.upstreams.push_back(std::move(up));
    }
  }
  return r;
}

Result<std::string> findSidecarProxyId(std::string_view body, std::string_view serviceId) {
  auto doc = parse(body, "agent services");
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) return invalidArgument("agent services: expected a JSON object");
  std::vector<std::string> found;
  for (const auto& [id, v] : doc->get_object()) {
    if (!v.is_object() || str(v.get_object(), "Kind") != "connect-proxy") continue;
    const json::object* p = obj(v.get_object(), "Proxy");
    if (!p) continue;
    // Consul matches the destination's service ID; an ID left out at
    // registration stands for the service of the same name.
    std::string dest = str(*p, "DestinationServiceID");
    if (dest.empty()) dest = str(*p, "DestinationServiceName");
    if (dest == serviceId) found.emplace_back(id);
  }
  if (found.empty())
    return notFound("no connect-proxy service on this agent has Proxy.DestinationServiceID \"" +
                    std::string(serviceId) + "\"");
  if (found.size() > 1) {
    std::string ids;
    for (const auto& f : found) ids += (ids.empty() ? "" : ", ") + f;
    return invalidArgument("more than one connect-proxy for \"" + std::string(serviceId) + "\" (" +
                           ids + "): give -proxy-id");
  }
  return found[0];
}

void applyRegistration(ProxyConfig& cfg, const ProxyRegistration& reg) {
  cfg.mesh = true;
  if (cfg.proxyId.empty()) cfg.proxyId = reg.id;
  if (cfg.service.empty()) cfg.service = reg.destinationService;
  if (cfg.serviceId.empty())
    cfg.serviceId = reg.destinationServiceId.empty() ? cfg.service : reg.destinationServiceId;
  if (cfg.listen.empty() && reg.port != 0)
    cfg.listen = (reg.address.empty() ? std::string("0.0.0.0") : reg.address) + ":" +
                 std::to_string(reg.port);
  if (cfg.localApp.empty() && reg.localServicePort != 0)
    cfg.localApp =
        (reg.localServiceAddress.empty() ? std::string("127.0.0.1") : reg.localServiceAddress) +
        ":" + std::to_string(reg.localServicePort);
  for (const auto& u : reg.upstreams) {
    bool given = false;
    for (const auto& have : cfg.upstreams) given = given || have.service == u.name;
    if (given) continue;
    UpstreamConfig up = cfg.upstreamDefaults;
    up.service = u.name;
    if (!u.bindAddress.empty()) up.bindAddress = u.bindAddress;
    up.localPort = u.bindPort;
    up.balancer.seed = cfg.upstreamDefaults.balancer.seed + cfg.upstreams.size();
    cfg.upstreams.push_back(std::move(up));
  }
}

}  // namespace cairn::proxy
