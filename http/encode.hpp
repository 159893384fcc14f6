// Registry records -> Consul's JSON shapes.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "registry/view.hpp"

namespace cairn::http {

// /v1/catalog/nodes entries and the "Node" of health entries.
boost::json::object nodeJson(const registry::Node& n);
// /v1/agent/services values and /v1/catalog/node "Services" values.
boost::json::object agentServiceJson(const registry::Service& s, const std::string& datacenter);
// The "Service" of /v1/health/service entries.
boost::json::object healthServiceJson(const registry::Service& s);
// /v1/catalog/service entries: node and service fields flattened.
boost::json::object catalogServiceJson(const registry::Node& n, const registry::Service& s);
boost::json::object checkJson(const registry::Check& c, const registry::Service* svc);

std::string serialize(const boost::json::value& v);

}  // namespace cairn::http
