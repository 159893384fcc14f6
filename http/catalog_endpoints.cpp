// /v1/catalog/*: the whole catalog, any node.
#include <boost/json.hpp>
#include <set>

#include "http/api.hpp"
#include "http/decode.hpp"
#include "http/encode.hpp"
#include "http/filters.hpp"
#include "http/json_fields.hpp"

namespace cairn::http {
namespace json = boost::json;

namespace {

Response trueBody(uint64_t) {
  return Response::json("true");
}

}  // namespace

Outcome Api::catalogRegister(const Request& req, const std::string&) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  auto cmd = decodeCatalogRegister(*obj);
  if (!cmd.ok()) return errorResponse(cmd.error());
  if (cmd->node.datacenter.empty()) cmd->node.datacenter = self_.datacenter;
  if (auto why = scriptChecksRefused(cmd->checks); !why.empty()) return Response::text(400, why);
  for (const auto& c : cmd->checks) {
    if (c.serviceId.empty()) continue;
    bool inThisCommand = cmd->service && cmd->service->id == c.serviceId;
    if (!inThisCommand &&
        !hub_.view()->nodeServices.find(registry::instanceKey(cmd->node.name, c.serviceId)))
      return Response::text(
          400, "Missing service: \"" + c.serviceId + "\" for check \"" + c.checkId + "\"");
  }
  return write(*cmd, trueBody);
}

Outcome Api::catalogDeregister(const Request& req, const std::string&) {
  auto obj = parseJsonObject(req.body);
  if (!obj.ok()) return errorResponse(obj.error());
  auto cmd = decodeCatalogDeregister(*obj);
  if (!cmd.ok()) return errorResponse(cmd.error());
  return write(*cmd, trueBody);
}

Outcome Api::catalogServices(const Request& req, const std::string&) {
  auto meta = parseNodeMeta(req);
  if (!meta.ok()) return errorResponse(meta.error());
  return query(
      req, {std::string(registry::kServicesTableKey), std::string(registry::kNodesTableKey)},
      [](const View& v) { return std::max(v.servicesIndex, v.nodesIndex); },
      [meta = *meta](const View& v) {
        json::object out;
        v.services.forEach([&](const std::string& name, const registry::ServiceGroupPtr& g) {
          std::set<std::string> tags;
          bool any = false;
          g->instances.forEach([&](const std::string&, const registry::InstancePtr& i) {
            if (!nodeMetaMatches(v, i->service->node, meta)) return true;
            any = true;
            tags.insert(i->service->tags.begin(), i->service->tags.end());
            return true;
          });
          if (!any) return true;
          json::array a;
          for (const auto& t : tags) a.emplace_back(t);
          out[name] = std::move(a);
          return true;
        });
        return Response::json(serialize(out));
      });
}

Outcome Api::catalogService(const Request& req, const std::string& name) {
  auto filter = parseInstanceFilter(req);
  if (!filter.ok()) return errorResponse(filter.error());
  return query(
      req, {registry::serviceWatchKey(name)},
      [name](const View& v) { return v.serviceIndex(name); },
      [name, f = *filter](const View& v) {
        json::array out;
        forEachInstance(v, name, f, [&](const registry::NodeEntry& n, const registry::Instance& i) {
          out.push_back(catalogServiceJson(n.node, *i.service));
        });
        return Response::json(serialize(out));
      });
}

Outcome Api::catalogNodes(const Request& req, const std::string&) {
  auto meta = parseNodeMeta(req);
  if (!meta.ok()) return errorResponse(meta.error());
  return query(
      req, {std::string(registry::kNodesTableKey)}, [](const View& v) { return v.nodesIndex; },
      [meta = *meta](const View& v) {
        json::array out;
        v.nodes.forEach([&](const std::string& name, const registry::NodeEntryPtr& n) {
          if (nodeMetaMatches(v, name, meta)) out.push_back(nodeJson(n->node));
          return true;
        });
        return Response::json(serialize(out));
      });
}

Outcome Api::catalogNode(const Request& req, const std::string& node) {
  return query(
      req, {registry::nodeWatchKey(node)}, [node](const View& v) { return v.nodeIndex(node); },
      [this, node](const View& v) {
        const auto* n = v.nodes.find(node);
        if (!n) return Response::json("null");
        json::object services;
        v.nodeServices.forEachPrefix(registry::instanceKey(node, ""),
                                     [&](const std::string&, const registry::InstancePtr& i) {
                                       services[i->service->id] =
                                           agentServiceJson(*i->service, self_.datacenter);
                                       return true;
                                     });
        json::object out{{"Node", nodeJson((*n)->node)}, {"Services", std::move(services)}};
        return Response::json(serialize(out));
      });
}

Outcome Api::catalogDatacenters(const Request&, const std::string&) {
  return Response::json(serialize(json::array{json::value(self_.datacenter)}));
}

}  // namespace cairn::http
