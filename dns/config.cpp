#include "dns/config.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>

#include "common/duration.hpp"

namespace cairn::dns {
namespace {

Result<uint32_t> ttlSeconds(std::string_view key, std::string_view text) {
  auto d = parseDuration(text);
  if (!d.ok()) return invalidArgument(std::string(key) + ": " + d.error().message);
  auto s = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  if (s > 0x7fffffff) return invalidArgument(std::string(key) + ": TTL too large");
  return static_cast<uint32_t>(s);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(asciiLower(static_cast<uint8_t>(c)));
  return out;
}

}  // namespace

Status DnsOptions::validate() const {
  if (port < 0 || port > 65535) return invalidArgument("ports.dns: out of range 0-65535");
  if (udpWorkers < 1 || udpWorkers > 64) return invalidArgument("dns workers: must be 1-64");
  if (maxUdpSize < 512) return invalidArgument("dns max UDP size: must be >= 512");
  if (udpAnswerLimit < 0) return invalidArgument("dns_config.udp_answer_limit: must be >= 0");
  if (aRecordLimit < 0) return invalidArgument("dns_config.a_record_limit: must be >= 0");
  if (maxTcpConnections < 1) return invalidArgument("dns max TCP connections: must be >= 1");
  if (recursorTimeout.count() <= 0)
    return invalidArgument("dns_config.recursor_timeout: must be > 0");
  if (maxTcpConnectionsPerClient < 1)
    return invalidArgument("dns_config.max_tcp_connections_per_client: must be >= 1");
  if (auto c = parseCidrs(allowRecursionFrom); !c.ok())
    return invalidArgument("dns_config.allow_recursion_from: " + c.error().message);
  if (rateLimit.enabled)
    if (Status st = rateLimit.validate(); !st.ok()) return st;
  return {};
}

Status applyEnvironment(DnsOptions& o) {
  if (const char* v = std::getenv("CAIRN_DNS_ORDER"); v && *v) {
    auto ord = parseOrder(v);
    if (!ord) return invalidArgument("CAIRN_DNS_ORDER: use weighted, round-robin or least-loaded");
    o.order = *ord;
  }
  auto number = [](const char* name, const char* v, uint64_t& out) -> Status {
    std::string_view s(v);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || p != s.data() + s.size())
      return invalidArgument(std::string(name) + ": not a number");
    return {};
  };
  if (const char* v = std::getenv("CAIRN_DNS_WORKERS"); v && *v) {
    uint64_t n = 0;
    if (Status st = number("CAIRN_DNS_WORKERS", v, n); !st.ok()) return st;
    if (n < 1 || n > 64) return invalidArgument("CAIRN_DNS_WORKERS: must be 1-64");
    o.udpWorkers = static_cast<int>(n);
  }
  if (const char* v = std::getenv("CAIRN_DNS_SEED"); v && *v)
    if (Status st = number("CAIRN_DNS_SEED", v, o.seed); !st.ok()) return st;
  return {};
}

Result<ServiceTtl> ServiceTtl::parse(std::string_view text) {
  ServiceTtl t;
  if (text.empty() || text.front() != '{') {
    auto s = ttlSeconds("dns_config.service_ttl", text.empty() ? "0s" : text);
    if (!s.ok()) return s.error();
    t.fallback_ = *s;
    return t;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return invalidArgument("dns_config.service_ttl: expected an object");
  for (const auto& kv : v.get_object()) {
    std::string key = "dns_config.service_ttl." + std::string(kv.key());
    if (!kv.value().is_string()) return invalidArgument(key + ": expected a duration");
    auto s = ttlSeconds(key, kv.value().get_string());
    if (!s.ok()) return s.error();
    std::string name = lower(kv.key());
    if (name == "*")
      t.fallback_ = *s;
    else if (name.back() == '*')
      t.prefixes_.emplace_back(name.substr(0, name.size() - 1), *s);
    else
      t.exact_.emplace_back(name, *s);
  }
  std::sort(t.prefixes_.begin(), t.prefixes_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return t;
}

uint32_t ServiceTtl::of(std::string_view name) const {
  for (const auto& [n, s] : exact_)
    if (n == name) return s;
  for (const auto& [p, s] : prefixes_)
    if (name.substr(0, p.size()) == p) return s;
  return fallback_;
}

Result<AnswerConfig> AnswerConfig::from(const DnsOptions& o) {
  AnswerConfig c;
  c.nodeName = o.nodeName;
  c.viewFilter = o.viewFilter;
  auto nt = ttlSeconds("dns_config.node_ttl", o.nodeTtl);
  if (!nt.ok()) return nt.error();
  c.nodeTtl = *nt;
  auto st = ServiceTtl::parse(o.serviceTtl);
  if (!st.ok()) return st.error();
  c.serviceTtl = std::move(*st);
  c.onlyPassing = o.onlyPassing;
  c.udpAnswerLimit = static_cast<uint32_t>(std::max(0, o.udpAnswerLimit));
  c.aRecordLimit = static_cast<uint32_t>(std::max(0, o.aRecordLimit));
  c.nodeMetaTxt = o.nodeMetaTxt;
  c.maxUdpSize = o.maxUdpSize;
  c.order = o.order;
  c.recursion = !o.recursors.empty();
  return c;
}

}  // namespace cairn::dns
