// The proxy's configuration: one typed struct with its defaults here, read
// from flags and an optional TOML file (-config). Pure: no I/O but reading
// the file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "proxy/balancer.hpp"

namespace cairn::proxy {

struct UpstreamConfig {
  std::string service;
  std::string bindAddress = "127.0.0.1";
  uint16_t localPort = 0;  // 0: any free port (reported at start-up)
  BalancerConfig balancer;
  std::chrono::milliseconds connectTimeout{1000};
  uint32_t maxAttempts = 3;  // instances tried per connection
};

// Files for mutual TLS between proxies (or the mesh's certificates from the
// agent: ProxyConfig::mesh). Empty: plaintext.
struct ProxyTlsConfig {
  std::string certFile;
  std::string keyFile;
  std::string caFile;
  // The URI SAN the peer's certificate must carry (a SPIFFE ID); empty: any
  // certificate from the CA. Inbound checks the client, outbound the server.
  std::string expectPeerId;
  bool enabled() const { return !certFile.empty(); }
};

struct ProxyConfig {
  std::string service;       // the local service this proxy stands beside
  std::string serviceId;     // its instance, for load reports; default: service
  std::string agentAddress;  // the agent's HTTP API; empty: $CAIRN_HTTP_ADDR or 127.0.0.1:8500
  std::string token;         // ACL token for the agent (see client::ClientConfig::token)
  std::vector<UpstreamConfig> upstreams;
  std::string listen;    // inbound "host:port" or ":port"; empty: no inbound listener
  std::string localApp;  // "host:port" the inbound side forwards to
  std::string metricsAddress = "127.0.0.1:0";
  std::chrono::milliseconds idleTimeout{600000};
  std::chrono::milliseconds drainTimeout{30000};
  std::chrono::milliseconds loadReportInterval{1000};
  uint32_t maxConnections = 10000;  // per listener
  ProxyTlsConfig tls;
  // Mesh mode (-connect): the leaf and roots come from the agent and follow
  // its rotations; outbound expects the upstream's SPIFFE ID, inbound any
  // leaf of the cluster's CA. Excludes the -tls-* files.
  bool mesh = false;
  std::chrono::milliseconds meshWait{30000};  // for the first leaf and roots at start-up
  // Settings from a registered service of Kind connect-proxy: by its ID, or
  // the one whose Proxy.DestinationServiceID is sidecarFor. Imply mesh mode;
  // flags override what the registration says (see registration.hpp).
  std::string proxyId;
  std::string sidecarFor;
  UpstreamConfig upstreamDefaults;  // for upstreams that come from a registration
  // With TLS inbound: when the intentions change, close the established
  // inbound connections whose source they now deny (new connections are
  // always checked).
  bool closeDenied = false;
  // TLS 1.3 session resumption between proxies (tls_stream.hpp): a resumed
  // connection skips the certificate signatures and chain checks.
  bool tlsResumption = true;
  std::string logLevel = "info";

  bool fromRegistration() const { return !proxyId.empty() || !sidecarFor.empty(); }
  Status validate() const;
};

// Parses `cairn proxy` flags (single or double dash, "-flag value" or
// "-flag=value"). -config FILE is read first; flags then override its keys
// and add upstreams. Errors name the flag or key. With -proxy-id or
// -sidecar-for the result is not validated yet (the registration fills it
// in; see registration.hpp).
Result<ProxyConfig> parseProxyArgs(const std::vector<std::string>& args);

// "api:9191", "api:9191:least_request" or "api:127.0.0.2:9191[:policy]".
Result<UpstreamConfig> parseUpstreamSpec(std::string_view spec, const UpstreamConfig& defaults);

// "host:port" or ":port" (all interfaces) into host and port.
Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view text);

extern const char* const kProxyUsage;

}  // namespace cairn::proxy
