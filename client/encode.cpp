#include "client/encode.hpp"

#include <boost/json.hpp>

namespace cairn::client {
namespace {

namespace json = boost::json;

void putIf(json::object& o, std::string_view key, const std::string& value) {
  if (!value.empty()) o[key] = value;
}

Result<json::object> checkObject(const CheckDefinition& c, std::string_view where) {
  int kinds = int(!c.ttl.empty()) + int(!c.http.empty()) + int(!c.tcp.empty());
  if (kinds != 1) {
    return invalidArgument(std::string(where) + ": a check needs exactly one of TTL, HTTP or TCP");
  }
  if (c.ttl.empty() && c.interval.empty()) {
    return invalidArgument(std::string(where) + ": an HTTP or TCP check needs an interval");
  }
  json::object o;
  putIf(o, "CheckID", c.checkId);
  putIf(o, "Name", c.name);
  putIf(o, "ServiceID", c.serviceId);
  putIf(o, "Notes", c.notes);
  putIf(o, "TTL", c.ttl);
  putIf(o, "HTTP", c.http);
  putIf(o, "Method", c.method);
  putIf(o, "TCP", c.tcp);
  putIf(o, "Interval", c.interval);
  putIf(o, "Timeout", c.timeout);
  putIf(o, "DeregisterCriticalServiceAfter", c.deregisterCriticalServiceAfter);
  putIf(o, "Status", c.status);
  return o;
}

}  // namespace

Result<std::string> encodeServiceRegistration(const ServiceRegistration& s) {
  if (s.name.empty()) return invalidArgument("service registration: Name is empty");
  if (s.port < 0 || s.port > 65535) {
    return invalidArgument("service registration: Port " + std::to_string(s.port) +
                           " is outside 0..65535");
  }
  if (s.weightPassing < 0 || s.weightWarning < 0) {
    return invalidArgument("service registration: Weights must not be negative");
  }
  json::object o;
  putIf(o, "ID", s.id);
  o["Name"] = s.name;
  putIf(o, "Address", s.address);
  if (s.port != 0) o["Port"] = s.port;
  if (!s.tags.empty()) {
    json::array tags;
    for (const auto& t : s.tags) tags.emplace_back(t);
    o["Tags"] = std::move(tags);
  }
  if (!s.meta.empty()) {
    json::object meta;
    for (const auto& [k, v] : s.meta) meta[k] = v;
    o["Meta"] = std::move(meta);
  }
  o["Weights"] = json::object{{"Passing", s.weightPassing}, {"Warning", s.weightWarning}};
  if (!s.checks.empty()) {
    json::array checks;
    for (std::size_t i = 0; i < s.checks.size(); ++i) {
      auto c = checkObject(s.checks[i], "service registration: Checks[" + std::to_string(i) + "]");
      if (!c) return c.error();
      checks.emplace_back(std::move(*c));
    }
    o["Checks"] = std::move(checks);
  }
  return json::serialize(o);
}

Result<std::string> encodeCheckDefinition(const CheckDefinition& check) {
  if (check.name.empty()) return invalidArgument("check registration: Name is empty");
  auto o = checkObject(check, "check registration");
  if (!o) return o.error();
  return json::serialize(*o);
}

Result<std::string> encodeCheckUpdate(std::string_view status, std::string_view output) {
  if (status != "passing" && status != "warning" && status != "critical") {
    return invalidArgument("check update: status \"" + std::string(status) +
                           "\" is not passing, warning or critical");
  }
  json::object o;
  o["Status"] = status;
  o["Output"] = output;
  return json::serialize(o);
}

}  // namespace cairn::client
