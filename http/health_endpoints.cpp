// /v1/health/*: instances with their checks, and checks by state.
#include <boost/json.hpp>
#include <optional>

#include "dns/order.hpp"
#include "http/api.hpp"
#include "http/encode.hpp"
#include "http/filters.hpp"

namespace cairn::http {
namespace json = boost::json;
using registry::HealthStatus;

namespace {

const registry::Service* serviceOf(const registry::View& v, const registry::Check& c) {
  if (c.serviceId.empty()) return nullptr;
  const auto* i = v.nodeServices.find(registry::instanceKey(c.node, c.serviceId));
  return i ? (*i)->service.get() : nullptr;
}

}  // namespace

Outcome Api::healthService(const Request& req, const std::string& name) {
  auto filter = parseInstanceFilter(req);
  if (!filter.ok()) return errorResponse(filter.error());
  bool passing = req.flag("passing");
  // Cairn extension: ?order=weighted|least-loaded (without it, the stable order).
  std::optional<dns::Order> order;
  if (const auto* o = req.param("order"); o && !o->empty()) {
    order = dns::parseOrder(*o);
    if (!order || *order == dns::Order::kRoundRobin)
      return Response::text(400, "Invalid order \"" + *o + "\": use weighted or least-loaded");
  }
  // Without a per-query random order the answer is a function of the view:
  // cache its bytes per service index. Not with ACLs: the answer then also
  // depends on the token (what it may see).
  std::string cacheKey;
  if (!order && !opts_.acl.enabled) {
    cacheKey = "health|" + name + (passing ? "|p" : "|a");
    for (const auto& t : filter->tags) cacheKey += "|t=" + t;
    for (const auto& [k, val] : filter->nodeMeta) cacheKey += "|m=" + k + ":" + val;
  }
  return query(
      req, {registry::serviceWatchKey(name)},
      [name](const View& v) { return v.serviceIndex(name); },
      [this, name, passing, order, cacheKey, f = *filter](const View& v) {
        uint64_t index = v.serviceIndex(name);
        if (!cacheKey.empty())
          if (auto body = responses_.get(cacheKey, index)) return Response::json(*body);
        json::array out;
        std::vector<const registry::Instance*> shown;
        forEachInstance(v, name, f, [&](const registry::NodeEntry& n, const registry::Instance& i) {
          if (passing) {
            for (const auto& c : n.checks)
              if (c->status != HealthStatus::kPassing) return;
            for (const auto& c : i.checks)
              if (c->status != HealthStatus::kPassing) return;
          }
          json::array checks;
          for (const auto& c : n.checks) checks.push_back(checkJson(*c, nullptr));
          for (const auto& c : i.checks) checks.push_back(checkJson(*c, i.service.get()));
          out.push_back(json::object{{"Node", nodeJson(n.node)},
                                     {"Service", healthServiceJson(*i.service)},
                                     {"Checks", std::move(checks)}});
          shown.push_back(&i);
        });
        if (order) {
          json::array sorted;
          for (size_t k : instanceOrder(v, shown, *order)) sorted.push_back(std::move(out[k]));
          out = std::move(sorted);
        }
        auto body = std::make_shared<const std::string>(serialize(out));
        if (!cacheKey.empty()) responses_.put(cacheKey, index, body);
        return Response::json(*body);
      });
}

Outcome Api::healthChecks(const Request& req, const std::string& name) {
  auto filter = parseInstanceFilter(req);
  if (!filter.ok()) return errorResponse(filter.error());
  return query(
      req, {registry::serviceWatchKey(name)},
      [name](const View& v) { return v.serviceIndex(name); },
      [name, f = *filter](const View& v) {
        json::array out;
        forEachInstance(v, name, f, [&](const registry::NodeEntry&, const registry::Instance& i) {
          for (const auto& c : i.checks) out.push_back(checkJson(*c, i.service.get()));
        });
        return Response::json(serialize(out));
      });
}

Outcome Api::healthNode(const Request& req, const std::string& node) {
  return query(
      req, {registry::nodeWatchKey(node)}, [node](const View& v) { return v.nodeIndex(node); },
      [node](const View& v) {
        json::array out;
        v.checks.forEachPrefix(registry::instanceKey(node, ""),
                               [&](const std::string&, const registry::CheckPtr& c) {
                                 out.push_back(checkJson(*c, serviceOf(v, *c)));
                                 return true;
                               });
        return Response::json(serialize(out));
      });
}

Outcome Api::healthState(const Request& req, const std::string& state) {
  std::optional<HealthStatus> want;
  if (state != "any") {
    want = registry::parseHealthStatus(state);
    if (!want)
      return Response::text(
          400, "Invalid state \"" + state + "\": use any, passing, warning or critical");
  }
  auto meta = parseNodeMeta(req);
  if (!meta.ok()) return errorResponse(meta.error());
  return query(
      req, {std::string(registry::kChecksTableKey)}, [](const View& v) { return v.checksIndex; },
      [want, meta = *meta](const View& v) {
        json::array out;
        v.checks.forEach([&](const std::string&, const registry::CheckPtr& c) {
          if (want && c->status != *want) return true;
          if (!nodeMetaMatches(v, c->node, meta)) return true;
          out.push_back(checkJson(*c, serviceOf(v, *c)));
          return true;
        });
        return Response::json(serialize(out));
      });
}

}  // namespace cairn::http
