#include "proxy/instances.hpp"

#include <boost/json.hpp>

namespace cairn::proxy {
namespace json = boost::json;

namespace {

std::string_view str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

const json::object* obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

}  // namespace

Result<std::vector<Instance>> decodeHealthInstances(std::string_view body) {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec) return invalidArgument("health response: " + ec.message());
  if (!doc.is_array()) return invalidArgument("health response: expected a JSON array");
  std::vector<Instance> out;
  for (const json::value& e : doc.get_array()) {
    if (!e.is_object()) continue;
    const json::object* node = obj(e.get_object(), "Node");
    const json::object* svc = obj(e.get_object(), "Service");
    if (!node || !svc) continue;
    const json::value* port = svc->if_contains("Port");
    if (!port || !port->is_int64() || port->get_int64() <= 0 || port->get_int64() > 65535) continue;
    Instance inst;
    inst.id = std::string(str(*node, "Node")) + "/" + std::string(str(*svc, "ID"));
    inst.address = std::string(str(*svc, "Address"));
    if (inst.address.empty()) inst.address = std::string(str(*node, "Address"));
    if (inst.address.empty()) continue;
    inst.port = static_cast<uint16_t>(port->get_int64());
    if (const json::object* w = obj(*svc, "Weights")) {
      const json::value* p = w->if_contains("Passing");
      if (p && p->is_int64() && p->get_int64() >= 0)
        inst.weight = static_cast<uint32_t>(std::min<int64_t>(p->get_int64(), 65535));
    }
    out.push_back(std::move(inst));
  }
  return out;
}

uint64_t nextBlockingIndex(uint64_t sent, uint64_t received) {
  if (received < sent) return 0;
  return received < 1 ? 1 : received;
}

}  // namespace cairn::proxy
