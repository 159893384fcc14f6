// PUT /v1/agent/service/load/:service_id — an instance (or its proxy)
// reports its load, soft state for least-loaded ordering. Never a Raft
// write: no catalog index moves. And the ?order= of /v1/health/service.
#include <boost/json.hpp>
#include <cmath>

#include "common/duration.hpp"
#include "dns/load_table.hpp"
#include "dns/order.hpp"
#include "http/api.hpp"
#include "http/json_fields.hpp"

namespace cairn::http {
namespace json = boost::json;

Outcome Api::agentServiceLoad(const Request& req, const std::string& id) {
  if (id.empty()) return Response::text(400, "Missing service ID");
  auto body = parseJson(req.body);
  if (!body.ok()) return errorResponse(body.error());
  if (!body->is_object())
    return Response::text(400, "Request decode failed: expected a JSON object");
  Fields f(body->get_object());
  const json::value* load = f.find("Load");
  if (!load || !load->is_number())
    return Response::text(400, "Request decode failed: Load: expected a number");
  double value = load->to_number<double>();
  if (!std::isfinite(value) || value < 0)
    return Response::text(400, "Invalid Load: must be a finite number >= 0");
  std::string ttlText;
  if (Status st = f.duration("TTL", ttlText); !st.ok()) return errorResponse(st.error());
  std::chrono::milliseconds ttl{0};
  if (!ttlText.empty()) {
    auto d = parseDuration(ttlText);
    if (!d.ok() || d->count() <= 0) return Response::text(400, "Invalid TTL: \"" + ttlText + "\"");
    ttl = *d;
  }
  // The instance: on this server's node first, else on whichever node has
  // that service ID (any server accepts reports).
  auto v = hub_.view();
  std::string node;
  if (v->nodeServices.find(registry::instanceKey(self_.nodeName, id))) {
    node = self_.nodeName;
  } else {
    v->nodes.forEach([&](const std::string& name, const registry::NodeEntryPtr&) {
      if (!v->nodeServices.find(registry::instanceKey(name, id))) return true;
      node = name;
      return false;
    });
  }
  if (node.empty()) return Response::text(404, "Unknown service ID \"" + id + "\"");
  if (!loads_->report(node, id, value, ttl))
    return Response::text(429, "Too many load reports held; try again later");
  // The other servers learn it through the leader, within a tick or two.
  replicator_.spreadLoad({node, id, value, static_cast<uint32_t>(ttl.count())});
  return Response::json("");
}

std::vector<size_t> Api::instanceOrder(const View& v,
                                       const std::vector<const registry::Instance*>& instances,
                                       dns::Order order) {
  std::vector<dns::OrderItem> items;
  items.reserve(instances.size());
  for (size_t k = 0; k < instances.size(); ++k) {
    const registry::Instance& inst = *instances[k];
    auto worst = registry::HealthStatus::kPassing;
    for (const auto& c : v.checksOf(inst))
      if (static_cast<int>(c->status) > static_cast<int>(worst)) worst = c->status;
    const auto& w = inst.service->weights;
    int weight = worst == registry::HealthStatus::kPassing   ? w.passing
                 : worst == registry::HealthStatus::kWarning ? w.warning
                                                             : 0;
    double load = order == dns::Order::kLeastLoaded
                      ? loads_->load(inst.service->node, inst.service->id)
                      : NAN;
    items.push_back(
        {static_cast<uint32_t>(k), static_cast<uint32_t>(std::max(weight, 0)), load, 0});
  }
  {
    std::lock_guard lock(rngMu_);
    dns::Rng rng(rng_());
    dns::orderItems(items, order, rng, 0);
  }
  std::vector<size_t> out;
  out.reserve(items.size());
  for (const auto& it : items) out.push_back(it.index);
  return out;
}

}  // namespace cairn::http
