// The proxy's settings from a registered service of Kind connect-proxy
// (Consul's `consul connect proxy -sidecar-for` / `-proxy-id`): the agent's
// service definition gives the local service (Proxy.DestinationServiceName
// and ID), the public listener (the service's Address and Port), the local
// app (Proxy.LocalServiceAddress/Port) and the upstreams
// (Proxy.Upstreams[].DestinationName/LocalBindAddress/LocalBindPort).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "proxy/config.hpp"

namespace cairn::proxy {

struct ProxyRegistration {
  std::string id;                    // the proxy service's ID
  std::string destinationService;    // Proxy.DestinationServiceName
  std::string destinationServiceId;  // Proxy.DestinationServiceID
  std::string address;               // the public listener; empty: all interfaces
  uint16_t port = 0;
  std::string localServiceAddress;  // empty: 127.0.0.1
  uint16_t localServicePort = 0;
  struct Upstream {
    std::string name;
    std::string bindAddress;  // empty: 127.0.0.1
    uint16_t bindPort = 0;
  };
  std::vector<Upstream> upstreams;
};

// The body of GET /v1/agent/service/<id>. Fails (naming the field) unless
// it is a service of Kind connect-proxy with a Proxy block.
Result<ProxyRegistration> decodeProxyRegistration(std::string_view body);

// From the body of GET /v1/agent/services: the ID of the one connect-proxy
// whose Proxy.DestinationServiceID (or, when that is empty, its
// DestinationServiceName) is `serviceId`. Fails when there is none
// or more than one (naming them).
Result<std::string> findSidecarProxyId(std::string_view body, std::string_view serviceId);

// Fills what the flags and file left empty: service, service ID, -listen,
// -local-app, and the upstreams not given by name already (with the
// upstream defaults from the flags). Turns mesh mode on.
void applyRegistration(ProxyConfig& cfg, const ProxyRegistration& reg);

// I/O: reads the registration from the agent (cfg.proxyId, or the sidecar
// of cfg.sidecarFor), applies it and validates the result. An agent that
// cannot be reached (or answers 5xx) is retried for up to cfg.meshWait; any
// other answer is final.
Status loadRegistration(ProxyConfig& cfg);

}  // namespace cairn::proxy
