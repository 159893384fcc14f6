// The mesh's JSON: a service's Proxy and Connect blocks (read and written
// as Consul does), CA roots, leaf certificates and intentions.
#pragma once

#include <boost/json/object.hpp>
#include <string>

#include "common/result.hpp"
#include "http/json_fields.hpp"
#include "registry/connect.hpp"
#include "registry/model.hpp"

namespace cairn::http {

// Reads "Proxy" and "Connect" into s. Kind connect-proxy needs
// Proxy.DestinationServiceName; Connect.SidecarService is refused (register
// the proxy as a service of its own).
Status decodeConnectFields(const Fields& f, registry::Service& s);
// Adds "Proxy" (Kind connect-proxy) and "Connect" (native) to a service's JSON.
void addConnectJson(boost::json::object& o, const registry::Service& s);
// The same for /v1/catalog/service entries ("ServiceProxy", "ServiceConnect").
void addCatalogConnectJson(boost::json::object& o, const registry::Service& s);

// RFC 3339 UTC ("2018-05-21T16:52:22Z") of unix seconds.
std::string rfc3339(int64_t unixSeconds);

// /v1/agent/connect/ca/roots; private keys never appear.
boost::json::object caRootsJson(const registry::CaState* ca);
// Consul's legacy intention shape, with Precedence.
boost::json::object intentionJson(const registry::Intention& i);

}  // namespace cairn::http
