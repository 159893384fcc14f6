#include "proxy/config.hpp"

#include <toml++/toml.h>

#include <charconv>
#include <map>

#include "common/duration.hpp"

namespace cairn::proxy {

const char* const kProxyUsage =
    "Usage: cairn proxy -service NAME [-upstream NAME:PORT[:POLICY] ...] [options]\n\n"
    "  -service NAME            the local service this proxy stands beside\n"
    "  -service-id ID           its instance ID, for load reports (default: NAME)\n"
    "  -upstream SPEC           NAME:PORT[:POLICY] or NAME:ADDR:PORT[:POLICY]; repeatable\n"
    "  -policy P                default policy: round_robin weighted random least_request\n"
    "                           peak_ewma ring_hash (default round_robin)\n"
    "  -listen [HOST]:PORT      inbound listener, forwarding to -local-app\n"
    "  -local-app HOST:PORT     the local application\n"
    "  -config FILE             a TOML file ([[upstreams]] name/local_port/policy/...)\n"
    "  -http-addr ADDR          the agent's HTTP API (default $CAIRN_HTTP_ADDR or 127.0.0.1:8500)\n"
    "  -token TOKEN             ACL token for the agent (service:read upstreams, service:write "
    "own)\n"
    "  -metrics-addr HOST:PORT  /metrics (default 127.0.0.1:0)\n"
    "  -connect-timeout D       per attempt (default 1s)   -max-attempts N (default 3)\n"
    "  -idle-timeout D          (default 10m)   -drain-timeout D (default 30s)\n"
    "  -max-connections N       per listener (default 10000)\n"
    "  -eject-after N -eject-base D -eject-max D   outlier ejection (3, 5s, 2m)\n"
    "  -ewma-decay D            peak_ewma's time constant (default 10s)\n"
    "  -seed N                  seeds the balancers (default: random)\n"
    "  -tls-cert F -tls-key F -tls-ca F [-tls-peer-id URI]   mutual TLS between proxies;\n"
    "                           inbound connections are then checked against the intentions\n"
    "  -connect                 mesh mode: leaf and roots from the agent, renewed as they rotate\n"
    "  -sidecar-for ID          settings from the registered connect-proxy of service ID ID\n"
    "  -proxy-id ID             settings from the registered connect-proxy ID (both imply "
    "-connect)\n"
    "  -mesh-wait D             how long to wait for the first leaf at start-up (default 30s)\n"
    "  -tls-resumption=BOOL     resume TLS sessions between proxies (default true; false: a\n"
    "                           full handshake, with certificates, on every connection)\n"
    "  -close-denied[=BOOL]     also close established inbound connections that an intention\n"
    "                           change denies (default false)\n"
    "  -log-level L\n";

namespace {

Result<uint64_t> parseUint(std::string_view what, std::string_view text, uint64_t max) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v > max)
    return invalidArgument(std::string(what) + ": expected a number up to " + std::to_string(max) +
                           ", got \"" + std::string(text) + "\"");
  return v;
}

Result<std::chrono::milliseconds> parseDur(std::string_view what, std::string_view text) {
  auto d = parseDuration(text);
  if (!d.ok() || d->count() <= 0)
    return invalidArgument(std::string(what) + ": expected a duration like 500ms or 10s, got \"" +
                           std::string(text) + "\"");
  return *d;
}

// Settings that apply to every upstream, from flags.
struct UpstreamDefaults {
  UpstreamConfig base;
  std::optional<uint64_t> seed;
};

#define CAIRN_TRY_ASSIGN(lhs, expr)  \
  do {                               \
    auto r_ = (expr);                \
    if (!r_.ok()) return r_.error(); \
    lhs = *r_;                       \
  } while (0)

Status applyToml(const std::string& path, ProxyConfig& cfg, const UpstreamConfig& defaults) {
  toml::table top;
  try {
    top = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return invalidArgument("config file " + path + ": line " +
                           std::to_string(e.source().begin.line) + ": " +
                           std::string(e.description()));
  }
  auto str = [&](const toml::table& t, const char* key, std::string& out) {
    if (auto v = t[key].value<std::string>()) out = *v;
  };
  str(top, "service", cfg.service);
  str(top, "service_id", cfg.serviceId);
  str(top, "http_addr", cfg.agentAddress);
  str(top, "listen", cfg.listen);
  str(top, "local_app", cfg.localApp);
  str(top, "metrics_addr", cfg.metricsAddress);
  str(top, "proxy_id", cfg.proxyId);
  str(top, "sidecar_for", cfg.sidecarFor);
  if (auto v = top["connect"].value<bool>()) cfg.mesh = *v;
  if (auto n = top["tls_resumption"]; n) {
    auto b = n.value<bool>();
    if (!b) return invalidArgument("config file " + path + ": tls_resumption: expected a boolean");
    cfg.tlsResumption = *b;
  }
  if (auto n = top["close_denied"]; n) {
    auto b = n.value<bool>();
    if (!b) return invalidArgument("config file " + path + ": close_denied: expected a boolean");
    cfg.closeDenied = *b;
  }
  if (auto* ups = top["upstreams"].as_array()) {
    for (auto& node : *ups) {
      auto* t = node.as_table();
      if (!t) return invalidArgument("config file " + path + ": upstreams: expected tables");
      UpstreamConfig u = defaults;
      str(*t, "name", u.service);
      if (u.service.empty())
        return invalidArgument("config file " + path + ": upstreams.name: missing");
      std::string what = "config file " + path + ": upstream " + u.service + ": ";
      str(*t, "bind_address", u.bindAddress);
      if (auto p = (*t)["local_port"].value<int64_t>()) {
        if (*p < 0 || *p > 65535) return invalidArgument(what + "local_port: out of range");
        u.localPort = static_cast<uint16_t>(*p);
      }
      if (auto p = (*t)["policy"].value<std::string>())
        CAIRN_TRY_ASSIGN(u.balancer.policy, parsePolicy(*p));
      if (auto d = (*t)["connect_timeout"].value<std::string>())
        CAIRN_TRY_ASSIGN(u.connectTimeout, parseDur(what + "connect_timeout", *d));
      if (auto n = (*t)["max_attempts"].value<int64_t>()) u.maxAttempts = static_cast<uint32_t>(*n);
      if (auto n = (*t)["eject_after"].value<int64_t>())
        u.balancer.ejectAfter = static_cast<uint32_t>(*n);
      if (auto d = (*t)["eject_base"].value<std::string>())
        CAIRN_TRY_ASSIGN(u.balancer.ejectBase, parseDur(what + "eject_base", *d));
      if (auto d = (*t)["eject_max"].value<std::string>())
        CAIRN_TRY_ASSIGN(u.balancer.ejectMax, parseDur(what + "eject_max", *d));
      if (auto d = (*t)["ewma_decay"].value<std::string>())
        CAIRN_TRY_ASSIGN(u.balancer.ewmaDecay, parseDur(what + "ewma_decay", *d));
      cfg.upstreams.push_back(std::move(u));
    }
  }
  return {};
}

}  // namespace

Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return invalidArgument("expected HOST:PORT, got \"" + std::string(text) + "\"");
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  auto port = parseUint("port", text.substr(colon + 1), 65535);
  if (!port.ok()) return port.error();
  return std::make_pair(host, static_cast<uint16_t>(*port));
}

Result<UpstreamConfig> parseUpstreamSpec(std::string_view spec, const UpstreamConfig& defaults) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t c = spec.find(':', start);
    parts.push_back(spec.substr(start, c == std::string_view::npos ? c : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  UpstreamConfig u = defaults;
  std::string what = "-upstream " + std::string(spec);
  if (parts.size() < 2 || parts.size() > 4 || parts[0].empty())
    return invalidArgument(what + ": expected NAME:PORT[:POLICY] or NAME:ADDR:PORT[:POLICY]");
  u.service = std::string(parts[0]);
  size_t portAt = 1;
  // NAME:ADDR:PORT[:POLICY] when the second part is not a number.
  if (parts.size() >= 3 && !parseUint("", parts[1], 65535).ok()) {
    u.bindAddress = std::string(parts[1]);
    portAt = 2;
  }
  auto port = parseUint(what + ": port", parts[portAt], 65535);
  if (!port.ok()) return port.error();
  u.localPort = static_cast<uint16_t>(*port);
  if (parts.size() > portAt + 2) return invalidArgument(what + ": too many parts");
  if (parts.size() == portAt + 2)
    CAIRN_TRY_ASSIGN(u.balancer.policy, parsePolicy(parts[portAt + 1]));
  return u;
}

Result<ProxyConfig> parseProxyArgs(const std::vector<std::string>& args) {
  ProxyConfig cfg;
  UpstreamDefaults defaults;
  std::vector<std::string> specs;
  std::string configFile;
  std::map<std::string, std::string> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.rfind("--", 0) == 0) a = a.substr(1);
    if (a.empty() || a[0] != '-') return invalidArgument("unexpected argument \"" + a + "\"");
    std::string name = a.substr(1), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (name == "connect" || name == "close-denied") {
      value = "true";  // a boolean flag: alone, or -connect=false / -close-denied=false
    } else {
      if (i + 1 >= args.size()) return invalidArgument("-" + name + ": missing value");
      value = args[++i];
    }
    std::string flag = "-" + name;
    auto& b = defaults.base;
    if (name == "service")
      cfg.service = value;
    else if (name == "service-id")
      cfg.serviceId = value;
    else if (name == "upstream")
      specs.push_back(value);
    else if (name == "policy")
      CAIRN_TRY_ASSIGN(b.balancer.policy, parsePolicy(value));
    else if (name == "listen")
      cfg.listen = value;
    else if (name == "local-app")
      cfg.localApp = value;
    else if (name == "config")
      configFile = value;
    else if (name == "http-addr")
      cfg.agentAddress = value;
    else if (name == "token")
      cfg.token = value;
    else if (name == "metrics-addr")
      cfg.metricsAddress = value;
    else if (name == "connect-timeout")
      CAIRN_TRY_ASSIGN(b.connectTimeout, parseDur(flag, value));
    else if (name == "max-attempts")
      CAIRN_TRY_ASSIGN(b.maxAttempts, parseUint(flag, value, 100));
    else if (name == "idle-timeout")
      CAIRN_TRY_ASSIGN(cfg.idleTimeout, parseDur(flag, value));
    else if (name == "drain-timeout")
      CAIRN_TRY_ASSIGN(cfg.drainTimeout, parseDur(flag, value));
    else if (name == "load-interval")
      CAIRN_TRY_ASSIGN(cfg.loadReportInterval, parseDur(flag, value));
    else if (name == "max-connections")
      CAIRN_TRY_ASSIGN(cfg.maxConnections, parseUint(flag, value, 1000000));
    else if (name == "eject-after")
      CAIRN_TRY_ASSIGN(b.balancer.ejectAfter, parseUint(flag, value, 1000));
    else if (name == "eject-base")
      CAIRN_TRY_ASSIGN(b.balancer.ejectBase, parseDur(flag, value));
    else if (name == "eject-max")
      CAIRN_TRY_ASSIGN(b.balancer.ejectMax, parseDur(flag, value));
    else if (name == "ewma-decay")
      CAIRN_TRY_ASSIGN(b.balancer.ewmaDecay, parseDur(flag, value));
    else if (name == "seed")
      CAIRN_TRY_ASSIGN(defaults.seed, parseUint(flag, value, UINT64_MAX));
    else if (name == "tls-cert")
      cfg.tls.certFile = value;
    else if (name == "tls-key")
      cfg.tls.keyFile = value;
    else if (name == "tls-ca")
      cfg.tls.caFile = value;
    else if (name == "tls-peer-id")
      cfg.tls.expectPeerId = value;
    else if (name == "tls-resumption") {
      if (value != "true" && value != "false")
        return invalidArgument(flag + ": expected true or false, got \"" + value + "\"");
      cfg.tlsResumption = value == "true";
    } else if (name == "close-denied") {
      if (value != "true" && value != "false")
        return invalidArgument(flag + ": expected true or false, got \"" + value + "\"");
      cfg.closeDenied = value == "true";
    } else if (name == "log-level")
      cfg.logLevel = value;
    else if (name == "connect") {
      if (value != "true" && value != "false")
        return invalidArgument(flag + ": expected true or false, got \"" + value + "\"");
      cfg.mesh = value == "true";
    } else if (name == "sidecar-for")
      cfg.sidecarFor = value;
    else if (name == "proxy-id")
      cfg.proxyId = value;
    else if (name == "mesh-wait")
      CAIRN_TRY_ASSIGN(cfg.meshWait, parseDur(flag, value));
    else
      return invalidArgument("unknown flag " + flag);
    seen[name] = value;
  }
  // The file first, then the flags on top of it.
  ProxyConfig fromFile;
  if (!configFile.empty()) {
    fromFile.metricsAddress.clear();
    if (Status st = applyToml(configFile, fromFile, defaults.base); !st.ok()) return st.error();
    auto take = [&](const char* flag, std::string& dst, const std::string& src) {
      if (!seen.count(flag) && !src.empty()) dst = src;
    };
    take("service", cfg.service, fromFile.service);
    take("service-id", cfg.serviceId, fromFile.serviceId);
    take("http-addr", cfg.agentAddress, fromFile.agentAddress);
    take("listen", cfg.listen, fromFile.listen);
    take("local-app", cfg.localApp, fromFile.localApp);
    take("metrics-addr", cfg.metricsAddress, fromFile.metricsAddress);
    take("proxy-id", cfg.proxyId, fromFile.proxyId);
    take("sidecar-for", cfg.sidecarFor, fromFile.sidecarFor);
    if (!seen.count("connect")) cfg.mesh = fromFile.mesh;
    if (!seen.count("close-denied")) cfg.closeDenied = fromFile.closeDenied;
    if (!seen.count("tls-resumption")) cfg.tlsResumption = fromFile.tlsResumption;
    cfg.upstreams = std::move(fromFile.upstreams);
  }
  for (const auto& s : specs) {
    auto u = parseUpstreamSpec(s, defaults.base);
    if (!u.ok()) return u.error();
    cfg.upstreams.push_back(std::move(*u));
  }
  uint64_t seed = defaults.seed ? *defaults.seed : std::random_device{}();
  for (size_t k = 0; k < cfg.upstreams.size(); ++k) cfg.upstreams[k].balancer.seed = seed + k;
  cfg.upstreamDefaults = defaults.base;
  cfg.upstreamDefaults.balancer.seed = seed;
  if (cfg.fromRegistration()) {
    if (!cfg.proxyId.empty() && !cfg.sidecarFor.empty())
      return invalidArgument("give -proxy-id or -sidecar-for, not both");
    cfg.mesh = true;
    return cfg;  // validated once the registration is in
  }
  if (cfg.serviceId.empty()) cfg.serviceId = cfg.service;
  if (Status st = cfg.validate(); !st.ok()) return st.error();
  return cfg;
}

Status ProxyConfig::validate() const {
  if (service.empty()) return invalidArgument("-service: required");
  if (upstreams.empty() && listen.empty())
    return invalidArgument("nothing to do: give -upstream and/or -listen");
  if (!listen.empty() && localApp.empty())
    return invalidArgument("-local-app: required with -listen");
  if (!listen.empty()) {
    if (auto r = splitHostPort(listen); !r.ok())
      return invalidArgument("-listen: " + r.error().message);
  }
  if (!localApp.empty()) {
    if (auto r = splitHostPort(localApp); !r.ok())
      return invalidArgument("-local-app: " + r.error().message);
  }
  if (auto r = splitHostPort(metricsAddress); !r.ok())
    return invalidArgument("-metrics-addr: " + r.error().message);
  for (const auto& u : upstreams) {
    if (Status st = u.balancer.validate(); !st.ok())
      return invalidArgument("upstream " + u.service + ": " + st.error().message);
    if (u.maxAttempts == 0)
      return invalidArgument("upstream " + u.service + ": max_attempts: must be > 0");
  }
  if (maxConnections == 0) return invalidArgument("-max-connections: must be > 0");
  if (tls.enabled() && (tls.keyFile.empty() || tls.caFile.empty()))
    return invalidArgument("-tls-cert needs -tls-key and -tls-ca");
  if (!tls.enabled() && (!tls.keyFile.empty() || !tls.caFile.empty()))
    return invalidArgument("-tls-key/-tls-ca need -tls-cert");
  if (mesh && (tls.enabled() || !tls.expectPeerId.empty()))
    return invalidArgument(
        "-connect takes its certificates from the agent: drop -tls-cert/-tls-key/-tls-ca/"
        "-tls-peer-id");
  return {};
}

}  // namespace cairn::proxy
