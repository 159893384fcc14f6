#include "http/decode.hpp"

#include "common/duration.hpp"
#include "http/connect_json.hpp"
#include "http/json_fields.hpp"

namespace cairn::http {
namespace json = boost::json;
using registry::Check;
using registry::HealthStatus;
using registry::Service;

#define CAIRN_TRY(expr)                \
  do {                                 \
    ::cairn::Status _st = (expr);      \
    if (!_st.ok()) return _st.error(); \
  } while (0)

namespace {

constexpr size_t kMaxNameLen = 256;
constexpr size_t kMaxTags = 512;

Status checkDuration(const std::string& field, const std::string& value) {
  if (value.empty()) return {};
  auto d = parseDuration(value);
  if (!d.ok()) return invalidArgument(field + ": " + d.error().message);
  return {};
}

// Consul's GRPC field: host:port, [v6]:port, optionally followed by
// "/service.Name". The port must be a number from 1 to 65535.
bool validGrpcTarget(std::string_view t) {
  std::string_view authority = t.substr(0, t.find('/'));
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = authority.substr(0, colon), port = authority.substr(colon + 1);
  if (host.front() == '[' && (host.size() < 3 || host.back() != ']')) return false;
  if (host.front() != '[' && host.find(':') != std::string_view::npos) return false;
  if (port.empty() || port.size() > 5) return false;
  int n = 0;
  for (char ch : port) {
    if (ch < '0' || ch > '9') return false;
    n = n * 10 + (ch - '0');
  }
  return n >= 1 && n <= 65535;
}

Status decodeWeights(const Fields& f, registry::Weights& w) {
  auto obj = f.object("Weights");
  if (!obj.ok()) return obj.error();
  if (!*obj) return {};
  Fields wf(**obj, f.name("Weights."));
  CAIRN_TRY(wf.integer("Passing", w.passing));
  CAIRN_TRY(wf.integer("Warning", w.warning));
  if (w.passing < 1) return invalidArgument(f.name("Weights.Passing") + ": must be greater than 0");
  if (w.warning < 0) return invalidArgument(f.name("Weights.Warning") + ": must not be negative");
  return {};
}

Status decodeServiceFields(const Fields& f, Service& s) {
  CAIRN_TRY(f.str("ID", s.id));
  CAIRN_TRY(f.str("Name", s.name));
  CAIRN_TRY(f.strList("Tags", s.tags));
  CAIRN_TRY(f.str("Address", s.address));
  CAIRN_TRY(f.integer("Port", s.port));
  CAIRN_TRY(f.strMap("Meta", s.meta));
  CAIRN_TRY(f.boolean("EnableTagOverride", s.enableTagOverride));
  CAIRN_TRY(f.str("Kind", s.kind));
  CAIRN_TRY(decodeWeights(f, s.weights));
  CAIRN_TRY(decodeConnectFields(f, s));
  auto ta = f.object("TaggedAddresses");
  if (!ta.ok()) return ta.error();
  if (*ta) {
    for (const auto& kv : **ta) {
      std::string field = f.name("TaggedAddresses.") + std::string(kv.key());
      if (!kv.value().is_object()) return invalidArgument(field + ": expected an object");
      Fields af(kv.value().get_object(), field + ".");
      registry::ServiceAddress a;
      CAIRN_TRY(af.str("Address", a.address));
      CAIRN_TRY(af.integer("Port", a.port));
      s.taggedAddresses[std::string(kv.key())] = a;
    }
  }
  if (s.port < 0 || s.port > 65535) return invalidArgument(f.name("Port") + ": must be 0-65535");
  if (s.tags.size() > kMaxTags) return invalidArgument(f.name("Tags") + ": too many tags");
  return {};
}

// The definitions of a `Check` object and a `Checks` array, in that order.
// `onlyCheck` tells that there was exactly one, from `Check`.
Result<std::vector<const json::object*>> checkObjects(const Fields& f, bool& onlyCheck) {
  std::vector<const json::object*> defs;
  auto one = f.object("Check");
  if (!one.ok()) return one.error();
  if (*one) defs.push_back(*one);
  if (const auto* many = f.find("Checks")) {
    if (!many->is_array()) return invalidArgument("Checks: expected an array of objects");
    for (const auto& e : many->get_array()) {
      if (!e.is_object()) return invalidArgument("Checks: expected an array of objects");
      defs.push_back(&e.get_object());
    }
  }
  onlyCheck = defs.size() == 1 && *one;
  return defs;
}

}  // namespace

Status validateName(const std::string& field, const std::string& value, bool required) {
  if (value.empty()) {
    if (required) return invalidArgument("Missing " + field);
    return {};
  }
  if (value.size() > kMaxNameLen)
    return invalidArgument(field + ": longer than " + std::to_string(kMaxNameLen) + " bytes");
  for (unsigned char c : value)
    if (c < 0x20 || c == 0x7f || c == '/')
      return invalidArgument(field + ": contains an invalid character");
  return {};
}

Result<Check> decodeCheckDefinition(const json::object& obj, const std::string& where,
                                    bool requireKind) {
  Fields f(obj, where);
  Check c;
  auto& d = c.definition;
  std::string id, checkId, status, scriptArgs;
  CAIRN_TRY(f.str("ID", id));
  CAIRN_TRY(f.str("CheckID", checkId));
  c.checkId = checkId.empty() ? id : checkId;
  CAIRN_TRY(f.str("Name", c.name));
  CAIRN_TRY(f.str("Notes", c.notes));
  CAIRN_TRY(f.str("ServiceID", c.serviceId));
  CAIRN_TRY(f.str("Status", status));
  CAIRN_TRY(f.str("Output", c.output));
  CAIRN_TRY(f.str("HTTP", d.http));
  CAIRN_TRY(f.str("Method", d.method));
  CAIRN_TRY(f.str("Body", d.body));
  CAIRN_TRY(f.str("TCP", d.tcp));
  CAIRN_TRY(f.str("GRPC", d.grpc));
  CAIRN_TRY(f.boolean("GRPCUseTLS", d.grpcUseTls));
  CAIRN_TRY(f.strList("Args", d.args));
  if (d.args.empty()) CAIRN_TRY(f.strList("ScriptArgs", d.args));
  CAIRN_TRY(f.duration("Interval", d.interval));
  CAIRN_TRY(f.duration("Timeout", d.timeout));
  CAIRN_TRY(f.duration("TTL", d.ttl));
  CAIRN_TRY(f.duration("DeregisterCriticalServiceAfter", d.deregisterCriticalServiceAfter));
  CAIRN_TRY(f.boolean("TLSSkipVerify", d.tlsSkipVerify));
  CAIRN_TRY(f.str("TLSServerName", d.tlsServerName));
  CAIRN_TRY(f.integer("SuccessBeforePassing", d.successBeforePassing));
  CAIRN_TRY(f.integer("FailuresBeforeWarning", d.failuresBeforeWarning));
  CAIRN_TRY(f.integer("FailuresBeforeCritical", d.failuresBeforeCritical));
  if (const auto* h = f.find("Header")) {
    if (!h->is_object())
      return invalidArgument(f.name("Header") + ": expected an object of string arrays");
    for (const auto& kv : h->get_object()) {
      auto& vals = d.header[std::string(kv.key())];
      if (kv.value().is_string()) {
        vals.emplace_back(kv.value().get_string());
        continue;
      }
      if (!kv.value().is_array())
        return invalidArgument(f.name("Header.") + std::string(kv.key()) +
                               ": expected an array of strings");
      for (const auto& e : kv.value().get_array()) {
        if (!e.is_string())
          return invalidArgument(f.name("Header.") + std::string(kv.key()) +
                                 ": expected an array of strings");
        vals.emplace_back(e.get_string());
      }
    }
  }
  for (auto [name, val] : {std::pair{"Interval", &d.interval},
                           {"Timeout", &d.timeout},
                           {"TTL", &d.ttl},
                           {"DeregisterCriticalServiceAfter", &d.deregisterCriticalServiceAfter}})
    CAIRN_TRY(checkDuration(f.name(name), *val));
  if (!status.empty()) {
    auto st = registry::parseHealthStatus(status);
    if (!st) return invalidArgument(f.name("Status") + ": must be passing, warning or critical");
    c.status = *st;
  }
  int kinds = !d.ttl.empty() + !d.http.empty() + !d.tcp.empty() + !d.args.empty() + !d.grpc.empty();
  if (kinds > 1)
    return invalidArgument(where + "Check may have only one of TTL, HTTP, TCP, GRPC or Args");
  if (!d.ttl.empty())
    c.type = "ttl";
  else if (!d.http.empty())
    c.type = "http";
  else if (!d.tcp.empty())
    c.type = "tcp";
  else if (!d.args.empty())
    c.type = "script";
  else if (!d.grpc.empty())
    c.type = "grpc";
  if (requireKind && kinds == 0)
    return invalidArgument(where + "Check must have one of TTL, HTTP, TCP, GRPC or Args");
  if (!d.http.empty() && d.http.rfind("http://", 0) != 0 && d.http.rfind("https://", 0) != 0)
    return invalidArgument(f.name("HTTP") + ": must be an http:// or https:// URL");
  if (!d.grpc.empty() && !validGrpcTarget(d.grpc))
    return invalidArgument(f.name("GRPC") + ": must be host:port or host:port/service");
  if ((c.type == "http" || c.type == "tcp" || c.type == "script" || c.type == "grpc") &&
      (d.interval.empty() || parseDuration(d.interval)->count() <= 0))
    return invalidArgument(f.name("Interval") + ": required and > 0 for " + c.type + " checks");
  if (c.type == "ttl" && parseDuration(d.ttl)->count() <= 0)
    return invalidArgument(f.name("TTL") + ": must be > 0");
  for (auto* n : {&d.successBeforePassing, &d.failuresBeforeWarning, &d.failuresBeforeCritical})
    if (*n < 0) return invalidArgument(where + "check thresholds must not be negative");
  CAIRN_TRY(validateName(f.name("CheckID"), c.checkId, false));
  return c;
}

Result<ServiceRegistration> decodeServiceDefinition(const json::object& obj) {
  Fields f(obj);
  ServiceRegistration reg;
  Service& s = reg.service;
  CAIRN_TRY(decodeServiceFields(f, s));
  CAIRN_TRY(validateName("Name", s.name, true));
  if (s.id.empty()) s.id = s.name;
  CAIRN_TRY(validateName("ID", s.id, true));

  bool onlyCheck = false;
  auto found = checkObjects(f, onlyCheck);
  if (!found.ok()) return found.error();
  const auto& defs = *found;
  for (size_t i = 0; i < defs.size(); ++i) {
    std::string where = onlyCheck ? "Check." : "Checks[" + std::to_string(i) + "].";
    auto c = decodeCheckDefinition(*defs[i], where, true);
    if (!c.ok()) return c.error();
    if (c->checkId.empty()) {
      c->checkId = "service:" + s.id;
      if (defs.size() > 1) c->checkId += ":" + std::to_string(i + 1);
    }
    if (c->name.empty()) c->name = "Service '" + s.name + "' check";
    c->serviceId = s.id;
    reg.checks.push_back(std::move(*c));
  }
  return reg;
}

Result<registry::RegisterCommand> decodeCatalogRegister(const json::object& obj) {
  Fields f(obj);
  registry::RegisterCommand r;
  CAIRN_TRY(f.str("Node", r.node.name));
  CAIRN_TRY(f.str("ID", r.node.id));
  CAIRN_TRY(f.str("Address", r.node.address));
  CAIRN_TRY(f.str("Datacenter", r.node.datacenter));
  CAIRN_TRY(f.strMap("TaggedAddresses", r.node.taggedAddresses));
  CAIRN_TRY(f.strMap("NodeMeta", r.node.meta));
  CAIRN_TRY(f.boolean("SkipNodeUpdate", r.skipNodeUpdate));
  CAIRN_TRY(validateName("Node", r.node.name, true));
  if (r.node.address.empty() && !r.skipNodeUpdate) return invalidArgument("Missing node Address");
  auto svc = f.object("Service");
  if (!svc.ok()) return svc.error();
  if (*svc) {
    Fields sf(**svc, "Service.");
    Service s;
    CAIRN_TRY(decodeServiceFields(sf, s));
    std::string legacyName;
    CAIRN_TRY(sf.str("Service", legacyName));
    if (s.name.empty()) s.name = legacyName;
    CAIRN_TRY(validateName("Service.Service", s.name, true));
    if (s.id.empty()) s.id = s.name;
    CAIRN_TRY(validateName("Service.ID", s.id, true));
    r.service = std::move(s);
  }
  bool onlyCheck = false;
  auto found = checkObjects(f, onlyCheck);
  if (!found.ok()) return found.error();
  const auto& defs = *found;
  for (size_t i = 0; i < defs.size(); ++i) {
    std::string where = "Checks[" + std::to_string(i) + "].";
    Fields cf(*defs[i], where);
    auto defObj = cf.object("Definition");
    if (!defObj.ok()) return defObj.error();
    auto c = decodeCheckDefinition(*defs[i], where, false);
    if (!c.ok()) return c.error();
    if (*defObj) {
      auto inner = decodeCheckDefinition(**defObj, where + "Definition.", false);
      if (!inner.ok()) return inner.error();
      c->definition = inner->definition;
      if (c->type.empty()) c->type = inner->type;
    }
    std::string node;
    CAIRN_TRY(cf.str("Node", node));
    if (!node.empty() && node != r.node.name)
      return invalidArgument(where + "Node: must match the registered node");
    if (c->checkId.empty()) c->checkId = c->name;
    CAIRN_TRY(validateName(where + "CheckID", c->checkId, true));
    if (c->name.empty()) c->name = c->checkId;
    r.checks.push_back(std::move(*c));
  }
  return r;
}

Result<registry::DeregisterCommand> decodeCatalogDeregister(const json::object& obj) {
  Fields f(obj);
  registry::DeregisterCommand d;
  CAIRN_TRY(f.str("Node", d.node));
  CAIRN_TRY(f.str("ServiceID", d.serviceId));
  CAIRN_TRY(f.str("CheckID", d.checkId));
  CAIRN_TRY(validateName("Node", d.node, true));
  return d;
}

}  // namespace cairn::http
