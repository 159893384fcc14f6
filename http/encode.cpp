#include "http/encode.hpp"

#include <boost/json/serialize.hpp>

#include "common/duration.hpp"
#include "http/connect_json.hpp"

namespace cairn::http {
namespace json = boost::json;

namespace {

json::object strMap(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

json::array strList(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object taggedAddrs(const std::map<std::string, registry::ServiceAddress>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = json::object{{"Address", v.address}, {"Port", v.port}};
  return o;
}

json::object weights(const registry::Weights& w) {
  return {{"Passing", w.passing}, {"Warning", w.warning}};
}

}  // namespace

json::object nodeJson(const registry::Node& n) {
  return {{"ID", n.id},
          {"Node", n.name},
          {"Address", n.address},
          {"Datacenter", n.datacenter},
          {"TaggedAddresses", strMap(n.taggedAddresses)},
          {"Meta", strMap(n.meta)},
          {"CreateIndex", n.createIndex},
          {"ModifyIndex", n.modifyIndex}};
}

json::object agentServiceJson(const registry::Service& s, const std::string& dc) {
  json::object o{{"ID", s.id},
                 {"Service", s.name},
                 {"Tags", strList(s.tags)},
                 {"Meta", strMap(s.meta)},
                 {"Port", s.port},
                 {"Address", s.address},
                 {"TaggedAddresses", taggedAddrs(s.taggedAddresses)},
                 {"Weights", weights(s.weights)},
                 {"EnableTagOverride", s.enableTagOverride},
                 {"Datacenter", dc}};
  if (!s.kind.empty()) o["Kind"] = s.kind;
  addConnectJson(o, s);
  return o;
}

json::object healthServiceJson(const registry::Service& s) {
  json::object o{{"ID", s.id},
                 {"Service", s.name},
                 {"Tags", strList(s.tags)},
                 {"Address", s.address},
                 {"TaggedAddresses", taggedAddrs(s.taggedAddresses)},
                 {"Meta", strMap(s.meta)},
                 {"Port", s.port},
                 {"Weights", weights(s.weights)},
                 {"EnableTagOverride", s.enableTagOverride},
                 {"CreateIndex", s.createIndex},
                 {"ModifyIndex", s.modifyIndex}};
  if (!s.kind.empty()) o["Kind"] = s.kind;
  addConnectJson(o, s);
  return o;
}

json::object catalogServiceJson(const registry::Node& n, const registry::Service& s) {
  json::object o{{"ID", n.id},
                 {"Node", n.name},
                 {"Address", n.address},
                 {"Datacenter", n.datacenter},
                 {"TaggedAddresses", strMap(n.taggedAddresses)},
                 {"NodeMeta", strMap(n.meta)},
                 {"ServiceKind", s.kind},
                 {"ServiceID", s.id},
                 {"ServiceName", s.name},
                 {"ServiceTags", strList(s.tags)},
                 {"ServiceAddress", s.address},
                 {"ServiceTaggedAddresses", taggedAddrs(s.taggedAddresses)},
                 {"ServiceWeights", weights(s.weights)},
                 {"ServiceMeta", strMap(s.meta)},
                 {"ServicePort", s.port},
                 {"ServiceEnableTagOverride", s.enableTagOverride},
                 {"CreateIndex", s.createIndex},
                 {"ModifyIndex", s.modifyIndex}};
  addCatalogConnectJson(o, s);
  return o;
}

json::object checkJson(const registry::Check& c, const registry::Service* svc) {
  const auto& d = c.definition;
  json::object def;
  if (!d.http.empty()) def["HTTP"] = d.http;
  if (!d.method.empty()) def["Method"] = d.method;
  if (!d.tcp.empty()) def["TCP"] = d.tcp;
  if (!d.grpc.empty()) def["GRPC"] = d.grpc;
  if (d.grpcUseTls) def["GRPCUseTLS"] = true;
  if (!d.args.empty()) def["ScriptArgs"] = strList(d.args);
  if (!d.interval.empty()) def["Interval"] = d.interval;
  if (!d.timeout.empty()) def["Timeout"] = d.timeout;
  if (!d.ttl.empty()) def["TTL"] = d.ttl;
  if (!d.deregisterCriticalServiceAfter.empty())
    def["DeregisterCriticalServiceAfter"] = d.deregisterCriticalServiceAfter;
  if (d.tlsSkipVerify) def["TLSSkipVerify"] = true;
  if (!d.header.empty()) {
    json::object h;
    for (const auto& [k, vs] : d.header) h[k] = strList(vs);
    def["Header"] = std::move(h);
  }
  return {{"Node", c.node},
          {"CheckID", c.checkId},
          {"Name", c.name},
          {"Status", std::string(registry::toString(c.status))},
          {"Notes", c.notes},
          {"Output", c.output},
          {"ServiceID", c.serviceId},
          {"ServiceName", svc ? svc->name : c.serviceName},
          {"ServiceTags", strList(svc ? svc->tags : c.serviceTags)},
          {"Type", c.type},
          {"Interval", d.interval},
          {"Timeout", d.timeout},
          {"Definition", std::move(def)},
          {"CreateIndex", c.createIndex},
          {"ModifyIndex", c.modifyIndex}};
}

std::string serialize(const json::value& v) {
  return json::serialize(v);
}

}  // namespace cairn::http
