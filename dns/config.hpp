// The DNS component's settings: what the agent passes in (DnsOptions, with
// Consul's semantics and defaults in one place) and the parsed form the
// answer builder uses (AnswerConfig).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "dns/names.hpp"
#include "dns/order.hpp"
#include "dns/rrl.hpp"
#include "registry/view.hpp"

namespace cairn::dns {

// What DNS may show of a view (with ACLs on: what the anonymous token may
// read). Called on DNS threads, possibly several at once; returns a view,
// never null. Empty: everything.
using ViewFilter = std::function<registry::ViewPtr(const registry::ViewPtr&)>;

struct DnsOptions {
  std::string address = "127.0.0.1";
  ViewFilter viewFilter;
  int port = 8600;  // 0: a free port
  ZoneConfig zone;
  std::string nodeName;                // this server's node: the NS record's target
  std::vector<std::string> recursors;  // "ip", "ip:port", "[ip6]:port"
  std::chrono::milliseconds recursorTimeout{2000};
  std::string nodeTtl = "0s";
  // A duration, or a JSON object of service name (or "prefix*", or "*") to
  // duration, as Consul's dns_config.service_ttl.
  std::string serviceTtl = "0s";
  bool onlyPassing = false;
  int udpAnswerLimit = 0;  // 0: no limit (trim to fit and set TC)
  int aRecordLimit = 0;    // 0: no limit
  // Node meta as TXT records in the additional section of SRV answers, as
  // Consul's dns_config.enable_additional_node_meta_txt.
  bool nodeMetaTxt = true;
  uint16_t maxUdpSize = 4096;  // the largest EDNS UDP answer we send
  Order order = Order::kWeighted;
  int udpWorkers = 2;  // one SO_REUSEPORT socket and thread each
  uint64_t seed = 0;   // 0: from the clock
  std::chrono::milliseconds tcpIdleTimeout{10'000};
  int maxTcpConnections = 512;
  int maxTcpConnectionsPerClient = 32;  // per client address
  int maxForwardsInFlight = 1024;
  RateLimitConfig rateLimit;  // UDP answers per client prefix; off unless enabled
  // Clients that may have outside names forwarded to the recursors; others
  // get REFUSED (no open resolver). Loopback and private networks.
  std::vector<std::string> allowRecursionFrom = {"127.0.0.0/8",   "::1/128",        "10.0.0.0/8",
                                                 "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                 "fc00::/7",      "fe80::/10"};

  Status validate() const;
};

// Interim, until the agent's config has keys for them: reads
// CAIRN_DNS_ORDER (weighted|round-robin|least-loaded), CAIRN_DNS_WORKERS
// (1-64) and CAIRN_DNS_SEED from the environment into `o`. Names the bad
// variable.
Status applyEnvironment(DnsOptions& o);

// Per-service TTLs: exact names, then the longest "prefix*", then "*".
class ServiceTtl {
 public:
  static Result<ServiceTtl> parse(std::string_view text);
  uint32_t of(std::string_view lowerName) const;

 private:
  uint32_t fallback_ = 0;
  std::vector<std::pair<std::string, uint32_t>> exact_;
  std::vector<std::pair<std::string, uint32_t>> prefixes_;  // longest first
};

// What the answer builder needs, parsed once.
struct AnswerConfig {
  std::string nodeName;
  uint32_t nodeTtl = 0;
  ServiceTtl serviceTtl;
  bool onlyPassing = false;
  uint32_t udpAnswerLimit = 0;
  uint32_t aRecordLimit = 0;
  bool nodeMetaTxt = true;
  uint16_t maxUdpSize = 4096;
  Order order = Order::kWeighted;
  bool recursion = false;  // recursors configured: RA set, outside names forwarded
  ViewFilter viewFilter;   // DnsOptions::viewFilter

  static Result<AnswerConfig> from(const DnsOptions& o);
};

}  // namespace cairn::dns
