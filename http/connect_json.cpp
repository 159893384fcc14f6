#include "http/connect_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <ctime>

#include "registry/intentions.hpp"

namespace cairn::http {
namespace json = boost::json;

namespace {

// A stored config (JSON text) back as a value; {} when absent.
json::value configValue(const std::string& text) {
  if (text.empty()) return json::object();
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(json::object()) : v;
}

Status configText(const Fields& f, std::string_view key, std::string& out) {
  auto obj = f.object(key);
  if (!obj.ok()) return obj.error();
  if (*obj) out = json::serialize(**obj);
  return {};
}

Status decodeUpstreams(const Fields& pf, std::vector<registry::ProxyUpstream>& out) {
  const json::value* ups = pf.find("Upstreams");
  if (!ups) return {};
  if (!ups->is_array()) return invalidArgument(pf.name("Upstreams") + ": expected an array");
  for (const auto& e : ups->get_array()) {
    if (!e.is_object()) return invalidArgument(pf.name("Upstreams") + ": expected objects");
    Fields uf(e.get_object(), pf.name("Upstreams."));
    registry::ProxyUpstream u;
    if (Status st = uf.str("DestinationName", u.destinationName); !st.ok()) return st;
    if (Status st = uf.str("Datacenter", u.datacenter); !st.ok()) return st;
    if (Status st = uf.str("LocalBindAddress", u.localBindAddress); !st.ok()) return st;
    if (Status st = uf.integer("LocalBindPort", u.localBindPort); !st.ok()) return st;
    if (Status st = configText(uf, "Config", u.config); !st.ok()) return st;
    if (u.destinationName.empty())
      return invalidArgument(uf.name("DestinationName") + ": must be set");
    if (u.localBindPort < 0 || u.localBindPort > 65535)
      return invalidArgument(uf.name("LocalBindPort") + ": must be 0-65535");
    out.push_back(std::move(u));
  }
  return {};
}

}  // namespace

Status decodeConnectFields(const Fields& f, registry::Service& s) {
  auto proxy = f.object("Proxy");
  if (!proxy.ok()) return proxy.error();
  if (*proxy) {
    Fields pf(**proxy, f.name("Proxy."));
    auto& p = s.proxy;
    if (Status st = pf.str("DestinationServiceName", p.destinationServiceName); !st.ok()) return st;
    if (Status st = pf.str("DestinationServiceID", p.destinationServiceId); !st.ok()) return st;
    if (Status st = pf.str("LocalServiceAddress", p.localServiceAddress); !st.ok()) return st;
    if (Status st = pf.integer("LocalServicePort", p.localServicePort); !st.ok()) return st;
    if (Status st = configText(pf, "Config", p.config); !st.ok()) return st;
    if (Status st = decodeUpstreams(pf, p.upstreams); !st.ok()) return st;
    if (p.localServicePort < 0 || p.localServicePort > 65535)
      return invalidArgument(pf.name("LocalServicePort") + ": must be 0-65535");
  }
  if (s.kind == registry::kConnectProxyKind && s.proxy.destinationServiceName.empty())
    return invalidArgument(f.name("Proxy.DestinationServiceName") +
                           " must be set for a service of Kind connect-proxy");
  if (s.kind != registry::kConnectProxyKind && s.proxy != registry::ServiceProxy{})
    return invalidArgument(f.name("Proxy") + " is only valid for Kind connect-proxy");
  auto connect = f.object("Connect");
  if (!connect.ok()) return connect.error();
  if (*connect) {
    Fields cf(**connect, f.name("Connect."));
    if (Status st = cf.boolean("Native", s.connectNative); !st.ok()) return st;
    if (cf.find("SidecarService"))
      return invalidArgument(cf.name("SidecarService") +
                             " is not supported: register the proxy as a service of Kind "
                             "connect-proxy");
    if (s.connectNative && s.kind == registry::kConnectProxyKind)
      return invalidArgument(cf.name("Native") + " cannot be set on a connect-proxy");
  }
  return {};
}

namespace {

json::object proxyJson(const registry::ServiceProxy& p) {
  json::array ups;
  for (const auto& u : p.upstreams)
    ups.push_back(json::object{{"DestinationType", "service"},
                               {"DestinationName", u.destinationName},
                               {"Datacenter", u.datacenter},
                               {"LocalBindAddress", u.localBindAddress},
                               {"LocalBindPort", u.localBindPort},
                               {"Config", configValue(u.config)}});
  return {{"DestinationServiceName", p.destinationServiceName},
          {"DestinationServiceID", p.destinationServiceId},
          {"LocalServiceAddress", p.localServiceAddress},
          {"LocalServicePort", p.localServicePort},
          {"Config", configValue(p.config)},
          {"Upstreams", std::move(ups)}};
}

}  // namespace

void addConnectJson(json::object& o, const registry::Service& s) {
  if (s.kind == registry::kConnectProxyKind) o["Proxy"] = proxyJson(s.proxy);
  if (s.connectNative) o["Connect"] = json::object{{"Native", true}};
}

void addCatalogConnectJson(json::object& o, const registry::Service& s) {
  if (s.kind == registry::kConnectProxyKind) o["ServiceProxy"] = proxyJson(s.proxy);
  if (s.connectNative) o["ServiceConnect"] = json::object{{"Native", true}};
}

std::string rfc3339(int64_t unixSeconds) {
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json::object caRootsJson(const registry::CaState* ca) {
  json::array roots;
  std::string activeId;
  if (ca) {
    for (const auto& r : ca->roots) {
      if (r.active) activeId = r.id;
      json::array inter;
      for (const auto& c : r.intermediateCerts) inter.emplace_back(c);
      roots.push_back(json::object{{"ID", r.id},
                                   {"Name", r.name},
                                   {"SerialNumber", r.serialNumber},
                                   {"SigningKeyID", r.signingKeyId},
                                   {"ExternalTrustDomain", ca->clusterId},
                                   {"NotBefore", rfc3339(r.notBefore)},
                                   {"NotAfter", rfc3339(r.notAfter)},
                                   {"RootCert", r.rootCert},
                                   {"IntermediateCerts", std::move(inter)},
                                   {"Active", r.active},
                                   {"PrivateKeyType", "ec"},
                                   {"PrivateKeyBits", 256},
                                   {"CreateIndex", r.createIndex},
                                   {"ModifyIndex", r.modifyIndex}});
    }
  }
  return {{"ActiveRootID", activeId},
          {"TrustDomain", ca ? ca->trustDomain() : std::string()},
          {"Roots", std::move(roots)}};
}

json::object intentionJson(const registry::Intention& i) {
  json::object meta;
  for (const auto& [k, v] : i.meta) meta[k] = v;
  return {{"ID", i.id},
          {"Description", i.description},
          {"SourceNS", "default"},
          {"SourceName", i.sourceName},
          {"DestinationNS", "default"},
          {"DestinationName", i.destinationName},
          {"SourceType", i.sourceType},
          {"Action", std::string(registry::toString(i.action))},
          {"Precedence", registry::intentionPrecedence(i)},
          {"Meta", std::move(meta)},
          {"CreatedAt", rfc3339(i.createdAt / 1'000'000'000)},
          {"UpdatedAt", rfc3339(i.updatedAt / 1'000'000'000)},
          {"CreateIndex", i.createIndex},
          {"ModifyIndex", i.modifyIndex}};
}

}  // namespace cairn::http
