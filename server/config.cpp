#include "server/config.hpp"

#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.hpp"
#include "common/log.hpp"

namespace cairn::server {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

json::value tomlToJson(const toml::node& n) {
  if (auto* t = n.as_table()) {
    json::object o;
    for (const auto& [k, v] : *t) o[std::string(k.str())] = tomlToJson(v);
    return o;
  }
  if (auto* a = n.as_array()) {
    json::array arr;
    for (const auto& v : *a) arr.push_back(tomlToJson(v));
    return arr;
  }
  if (auto* s = n.as_string()) return json::value(s->get());
  if (auto* i = n.as_integer()) return json::value(i->get());
  if (auto* f = n.as_floating_point()) return json::value(f->get());
  if (auto* b = n.as_boolean()) return json::value(b->get());
  std::ostringstream os;
  if (auto* d = n.as_date())
    os << d->get();
  else if (auto* t = n.as_time())
    os << t->get();
  else if (auto* dt = n.as_date_time())
    os << dt->get();
  return json::value(os.str());
}

class Applier {
 public:
  Applier(AgentConfig& c, std::string file) : c_(c), file_(std::move(file)) {}

  Status apply(const json::object& top) {
    for (const auto& kv : top) {
      std::string key(kv.key());
      Status st = one(key, kv.value());
      if (!st.ok()) return st;
    }
    return {};
  }

 private:
  Error bad(const std::string& key, const std::string& what) {
    return invalidArgument("config file " + file_ + ": key \"" + key + "\": " + what);
  }
  Status str(const std::string& key, const json::value& v, std::string& out) {
    if (!v.is_string()) return bad(key, "expected a string");
    out = std::string(v.get_string());
    return {};
  }
  Status integer(const std::string& key, const json::value& v, int& out) {
    if (v.is_int64())
      out = static_cast<int>(v.get_int64());
    else if (v.is_uint64())
      out = static_cast<int>(v.get_uint64());
    else if (v.is_string()) {
      try {
        size_t pos = 0;
        out = std::stoi(std::string(v.get_string()), &pos);
        if (pos != v.get_string().size()) return bad(key, "expected an integer");
      } catch (...) {
        return bad(key, "expected an integer");
      }
    } else
      return bad(key, "expected an integer");
    return {};
  }
  Status boolean(const std::string& key, const json::value& v, bool& out) {
    if (!v.is_bool()) return bad(key, "expected true or false");
    out = v.get_bool();
    return {};
  }
  Status strList(const std::string& key, const json::value& v, std::vector<std::string>& out) {
    if (v.is_string()) {
      out = {std::string(v.get_string())};
      return {};
    }
    if (!v.is_array()) return bad(key, "expected a list of strings");
    out.clear();
    for (const auto& e : v.get_array()) {
      if (!e.is_string()) return bad(key, "expected a list of strings");
      out.emplace_back(e.get_string());
    }
    return {};
  }
  Status duration(const std::string& key, const json::value& v, std::string& out) {
    if (!v.is_string()) return bad(key, "expected a duration such as \"10s\"");
    auto d = parseDuration(v.get_string());
    if (!d.ok()) return bad(key, d.error().message);
    out = std::string(v.get_string());
    return {};
  }
  Status objects(const std::string& key, const json::value& v, std::vector<std::string>& out) {
    if (v.is_object()) {
      out.push_back(json::serialize(v));
      return {};
    }
    if (!v.is_array()) return bad(key, "expected an object or a list of objects");
    for (const auto& e : v.get_array()) {
      if (!e.is_object()) return bad(key, "expected a list of objects");
      out.push_back(json::serialize(e));
    }
    return {};
  }

  Status optStr(const std::string& key, const json::value& v, std::optional<std::string>& out) {
    std::string s;
    Status st = str(key, v, s);
    if (st.ok()) out = std::move(s);
    return st;
  }
  Status optBool(const std::string& key, const json::value& v, std::optional<bool>& out) {
    bool b = false;
    Status st = boolean(key, v, b);
    if (st.ok()) out = b;
    return st;
  }

  // One TLS key, at the top level (`prefix` empty: the older spelling) or in
  // tls.defaults / tls.internal_rpc. Sets `known` when the key is a TLS key.
  Status tlsKey(const std::string& prefix, const std::string& name, const json::value& v,
                TlsStanza& s, bool& known) {
    std::string k = prefix + name;
    known = true;
    if (name == "ca_file") return optStr(k, v, s.caFile);
    if (name == "cert_file") return optStr(k, v, s.certFile);
    if (name == "key_file") return optStr(k, v, s.keyFile);
    if (name == "verify_incoming") return optBool(k, v, s.verifyIncoming);
    if (name == "verify_outgoing") return optBool(k, v, s.verifyOutgoing);
    if (name == "tls_min_version") {
      Status st = optStr(k, v, s.minVersion);
      if (!st.ok()) return st;
      auto ver = tls::parseTlsVersion(*s.minVersion);
      return ver.ok() ? Status() : bad(k, ver.error().message);
    }
    if (name == "ca_path") return bad(k, "not supported: put the CA certificates in ca_file");
    if (name == "tls_cipher_suites" || name == "tls_prefer_server_cipher_suites") {
      log::get("config")->warn("{}: {} is accepted but not used (OpenSSL's defaults apply)", file_,
                               k);
      return {};
    }
    known = false;
    return {};
  }

  Status tlsBlock(const json::value& v) {
    if (!v.is_object()) return bad("tls", "expected a table");
    for (const auto& kv : v.get_object()) {
      std::string section(kv.key());
      std::string prefix = "tls." + section + ".";
      if (section == "grpc") {
        log::get("config")->warn("{}: tls.{} is accepted but not used yet", file_, section);
        continue;
      }
      if (section != "defaults" && section != "internal_rpc" && section != "https")
        return bad("tls." + section, "unknown key");
      if (!kv.value().is_object()) return bad("tls." + section, "expected a table");
      TlsStanza& stanza = section == "defaults"       ? c_.tls.defaults
                          : section == "internal_rpc" ? c_.tls.internalRpc
                                                      : c_.tls.https;
      for (const auto& e : kv.value().get_object()) {
        std::string name(e.key());
        if (section == "internal_rpc" && name == "verify_server_hostname") {
          Status st = boolean(prefix + name, e.value(), c_.tls.verifyServerHostname);
          if (!st.ok()) return st;
          continue;
        }
        bool known = false;
        Status st = tlsKey(prefix, name, e.value(), stanza, known);
        if (!st.ok()) return st;
        if (!known) return bad(prefix + name, "unknown key");
      }
    }
    return {};
  }

  Status ports(const json::value& v) {
    if (!v.is_object()) return bad("ports", "expected a table");
    for (const auto& kv : v.get_object()) {
      std::string k = "ports." + std::string(kv.key());
      int p = 0;
      Status st = integer(k, kv.value(), p);
      if (!st.ok()) return st;
      if (kv.key() == "http")
        c_.httpPort = p;
      else if (kv.key() == "https")
        c_.httpsPort = p;
      else if (kv.key() == "dns")
        c_.dnsPort = p;
      else if (kv.key() == "server")
        c_.serverPort = p;
      else if (kv.key() == "grpc" || kv.key() == "grpc_tls" || kv.key() == "serf_lan" ||
               kv.key() == "serf_wan")
        log::get("config")->warn("{}: {} is accepted but not used", file_, k);
      else
        return bad(k, "unknown port name");
    }
    return {};
  }

  Status connect(const json::value& v) {
    if (!v.is_object()) return bad("connect", "expected a table");
    for (const auto& kv : v.get_object()) {
      std::string k = "connect." + std::string(kv.key());
      Status st;
      if (kv.key() == "enabled") {
        bool on = true;
        st = boolean(k, kv.value(), on);
        if (st.ok() && !on)
          log::get("config")->warn("{}: {} = false is ignored: the mesh CA always runs", file_, k);
      } else if (kv.key() == "leaf_cert_ttl") {
        st = duration(k, kv.value(), c_.connectLeafCertTtl);
      } else if (kv.key() == "default_intention_policy") {
        st = str(k, kv.value(), c_.connectDefaultIntentionPolicy);
      } else if (kv.key() == "ca_provider") {
        std::string p;
        st = str(k, kv.value(), p);
        if (st.ok() && p != "consul") return bad(k, "only the built-in \"consul\" provider exists");
      } else if (kv.key() == "ca_config") {
        if (!kv.value().is_object()) return bad(k, "expected a table");
        for (const auto& c : kv.value().get_object()) {
          if (c.key() != "leaf_cert_ttl") return bad(k + "." + std::string(c.key()), "unknown key");
          st = duration(k + ".leaf_cert_ttl", c.value(), c_.connectLeafCertTtl);
          if (!st.ok()) return st;
        }
      } else {
        return bad(k, "unknown key");
      }
      if (!st.ok()) return st;
    }
    return {};
  }

  Status dnsRateLimit(const std::string& key, const json::value& v) {
    if (!v.is_object()) return bad(key, "expected a table");
    auto& r = c_.dns.rateLimit;
    for (const auto& kv : v.get_object()) {
      std::string k = key + "." + std::string(kv.key());
      Status st;
      auto nonNegative = [&](int& out) {
        Status s2 = integer(k, kv.value(), out);
        if (s2.ok() && out < 0) return Status(bad(k, "must be >= 0"));
        return s2;
      };
      if (kv.key() == "enabled") {
        bool b = false;
        st = boolean(k, kv.value(), b);
        r.enabled = b;
      } else if (kv.key() == "responses_per_second") {
        st = integer(k, kv.value(), r.responsesPerSecond);
        if (st.ok() && r.responsesPerSecond < 1) st = bad(k, "must be >= 1");
      } else if (kv.key() == "burst") {
        st = nonNegative(r.burst);
      } else if (kv.key() == "slip") {
        st = nonNegative(r.slip);
      } else if (kv.key() == "ipv4_prefix_length") {
        st = integer(k, kv.value(), r.ipv4PrefixLength);
        if (st.ok() && (r.ipv4PrefixLength < 0 || r.ipv4PrefixLength > 32))
          st = bad(k, "must be 0-32");
      } else if (kv.key() == "ipv6_prefix_length") {
        st = integer(k, kv.value(), r.ipv6PrefixLength);
        if (st.ok() && (r.ipv6PrefixLength < 0 || r.ipv6PrefixLength > 128))
          st = bad(k, "must be 0-128");
      } else if (kv.key() == "exempt") {
        r.exempt.emplace();
        st = strList(k, kv.value(), *r.exempt);
      } else {
        return bad(k, "unknown key");
      }
      if (!st.ok()) return st;
    }
    return {};
  }

  Status dnsConfig(const json::value& v) {
    if (!v.is_object()) return bad("dns_config", "expected a table");
    for (const auto& kv : v.get_object()) {
      std::string k = "dns_config." + std::string(kv.key());
      Status st;
      if (kv.key() == "allow_stale")
        st = boolean(k, kv.value(), c_.dns.allowStale);
      else if (kv.key() == "node_ttl")
        st = duration(k, kv.value(), c_.dns.nodeTtl);
      else if (kv.key() == "service_ttl") {
        if (kv.value().is_object())
          c_.dns.serviceTtl = json::serialize(kv.value());
        else
          st = duration(k, kv.value(), c_.dns.serviceTtl);
      } else if (kv.key() == "only_passing")
        st = boolean(k, kv.value(), c_.dns.onlyPassing);
      else if (kv.key() == "udp_answer_limit")
        st = integer(k, kv.value(), c_.dns.udpAnswerLimit);
      else if (kv.key() == "a_record_limit")
        st = integer(k, kv.value(), c_.dns.aRecordLimit);
      else if (kv.key() == "enable_additional_node_meta_txt")
        st = boolean(k, kv.value(), c_.dns.enableAdditionalNodeMetaTxt);
      else if (kv.key() == "order") {
        st = str(k, kv.value(), c_.dns.order);
        if (st.ok() && c_.dns.order != "weighted" && c_.dns.order != "round-robin" &&
            c_.dns.order != "least-loaded")
          st = bad(k, "must be weighted, round-robin or least-loaded");
      } else if (kv.key() == "workers") {
        st = integer(k, kv.value(), c_.dns.workers);
        if (st.ok() && (c_.dns.workers < 1 || c_.dns.workers > 64)) st = bad(k, "must be 1-64");
      } else if (kv.key() == "recursor_timeout") {
        st = duration(k, kv.value(), c_.dns.recursorTimeout);
      } else if (kv.key() == "rate_limit") {
        st = dnsRateLimit(k, kv.value());
      } else if (kv.key() == "allow_recursion_from") {
        c_.dns.allowRecursionFrom.emplace();
        st = strList(k, kv.value(), *c_.dns.allowRecursionFrom);
      } else if (kv.key() == "max_tcp_connections_per_client") {
        st = integer(k, kv.value(), c_.dns.maxTcpConnectionsPerClient);
        if (st.ok() && c_.dns.maxTcpConnectionsPerClient < 1) st = bad(k, "must be >= 1");
      } else if (kv.key() == "enable_truncate" || kv.key() == "max_stale" ||
                 kv.key() == "use_cache" || kv.key() == "soa" ||
                 kv.key() == "disable_compression" || kv.key() == "cache_max_age")
        log::get("config")->warn("{}: {} is accepted but not used yet", file_, k);
      else
        return bad(k, "unknown key");
      if (!st.ok()) return st;
    }
    return {};
  }

  Status aclBlock(const json::value& v) {
    if (!v.is_object()) return bad("acl", "expected a table");
    for (const auto& kv : v.get_object()) {
      std::string k = "acl." + std::string(kv.key());
      Status st;
      if (kv.key() == "enabled") {
        st = boolean(k, kv.value(), c_.acl.enabled);
      } else if (kv.key() == "default_policy") {
        st = str(k, kv.value(), c_.acl.defaultPolicy);
        if (st.ok() && c_.acl.defaultPolicy != "allow" && c_.acl.defaultPolicy != "deny")
          st = bad(k, "must be allow or deny");
      } else if (kv.key() == "tokens") {
        if (!kv.value().is_object()) return bad(k, "expected a table");
        for (const auto& t : kv.value().get_object()) {
          std::string tk = k + "." + std::string(t.key());
          if (t.key() == "initial_management" || t.key() == "master")
            st = str(tk, t.value(), c_.acl.initialManagement);
          else if (t.key() == "agent" || t.key() == "default" || t.key() == "agent_recovery" ||
                   t.key() == "replication")
            log::get("config")->warn("{}: {} is accepted but not used yet", file_, tk);
          else
            st = bad(tk, "unknown key");
          if (!st.ok()) return st;
        }
      } else if (kv.key() == "down_policy" || kv.key() == "token_ttl" || kv.key() == "policy_ttl" ||
                 kv.key() == "enable_token_persistence") {
        log::get("config")->warn("{}: {} is accepted but not used yet", file_, k);
      } else {
        return bad(k, "unknown key");
      }
      if (!st.ok()) return st;
    }
    return {};
  }

  Status one(const std::string& key, const json::value& v) {
    static const std::set<std::string> kIgnored = {"ui",
                                                   "ui_config",
                                                   "telemetry",
                                                   "encrypt",
                                                   "performance",
                                                   "leave_on_terminate",
                                                   "rejoin_after_leave",
                                                   "skip_leave_on_interrupt",
                                                   "disable_update_check",
                                                   "enable_debug",
                                                   "primary_datacenter",
                                                   "server_name",
                                                   "addresses",
                                                   "enable_local_script_checks",
                                                   "limits",
                                                   "autopilot",
                                                   "raft_protocol"};
    if (key == "server") return boolean(key, v, c_.server);
    if (key == "tls") return tlsBlock(v);
    if (key == "acl") return aclBlock(v);
    if (key == "verify_server_hostname") return boolean(key, v, c_.tls.verifyServerHostname);
    if (key == "verify_incoming_rpc") return optBool(key, v, c_.tls.internalRpc.verifyIncoming);
    if (key == "verify_incoming_https") {
      log::get("config")->warn("{}: key \"{}\" is accepted but not used yet", file_, key);
      return {};
    }
    {
      bool known = false;
      Status st = tlsKey("", key, v, c_.tls.defaults, known);
      if (known) return st;
    }
    if (key == "bootstrap") {
      bool b = false;
      Status st = boolean(key, v, b);
      if (b) c_.bootstrapExpect = 1;
      return st;
    }
    if (key == "bootstrap_expect") return integer(key, v, c_.bootstrapExpect);
    if (key == "raft_snapshot_threshold" || key == "raft_trailing_logs") {
      int n = 0;
      Status st = integer(key, v, n);
      if (!st.ok()) return st;
      if (n < 1) return bad(key, "must be > 0");
      (key == "raft_snapshot_threshold" ? c_.raftSnapshotThreshold : c_.raftTrailingLogs) =
          static_cast<uint64_t>(n);
      return {};
    }
    if (key == "node_name") return str(key, v, c_.nodeName);
    if (key == "node_id") return str(key, v, c_.nodeId);
    if (key == "datacenter") return str(key, v, c_.datacenter);
    if (key == "data_dir") return str(key, v, c_.dataDir);
    if (key == "client_addr") return str(key, v, c_.clientAddr);
    if (key == "bind_addr") return str(key, v, c_.bindAddr);
    if (key == "advertise_addr") return str(key, v, c_.advertiseAddr);
    if (key == "ports") return ports(v);
    if (key == "retry_join") return strList(key, v, c_.retryJoin);
    if (key == "log_level") return str(key, v, c_.logLevel);
    if (key == "log_json") return boolean(key, v, c_.logJson);
    if (key == "domain") return str(key, v, c_.domain);
    if (key == "alt_domain") return str(key, v, c_.altDomain);
    if (key == "recursors") return strList(key, v, c_.recursors);
    if (key == "dns_config") return dnsConfig(v);
    if (key == "connect") return connect(v);
    if (key == "enable_script_checks") return boolean(key, v, c_.enableScriptChecks);
    if (key == "check_update_interval") return duration(key, v, c_.checkUpdateInterval);
    if (key == "check_close") return str(key, v, c_.checkClose);
    if (key == "check_io_uring") return boolean(key, v, c_.checkIoUring);
    if (key == "check_run_granularity") return duration(key, v, c_.checkRunGranularity);
    if (key == "service" || key == "services") return objects(key, v, c_.services);
    if (key == "check" || key == "checks") return objects(key, v, c_.checks);
    if (key == "http_config") {
      if (!v.is_object()) return bad(key, "expected a table");
      for (const auto& kv : v.get_object()) {
        std::string k = "http_config." + std::string(kv.key());
        if (kv.key() == "max_body_bytes") {
          int n = 0;
          Status st = integer(k, kv.value(), n);
          if (!st.ok()) return st;
          if (n <= 0) return bad(k, "must be > 0");
          c_.httpMaxBodyBytes = static_cast<uint64_t>(n);
        } else if (kv.key() == "max_snapshot_bytes") {
          int n = 0;
          Status st = integer(k, kv.value(), n);
          if (!st.ok()) return st;
          if (n <= 0) return bad(k, "must be > 0");
          c_.httpMaxSnapshotBytes = static_cast<uint64_t>(n);
        } else if (kv.key() == "read_timeout") {
          Status st = duration(k, kv.value(), c_.httpReadTimeout);
          if (!st.ok()) return st;
        } else if (kv.key() == "threads") {
          Status st = integer(k, kv.value(), c_.httpThreads);
          if (!st.ok()) return st;
        } else {
          return bad(k, "unknown key");
        }
      }
      return {};
    }
    if (kIgnored.count(key)) {
      log::get("config")->warn("{}: key \"{}\" is accepted but not used yet", file_, key);
      return {};
    }
    return bad(key, "unknown key");
  }

  AgentConfig& c_;
  std::string file_;
};

Status applyFile(const fs::path& path, AgentConfig& cfg) {
  std::ifstream in(path);
  if (!in) return invalidArgument("cannot read config file " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  json::value top;
  auto ext = path.extension().string();
  if (ext == ".json") {
    boost::system::error_code ec;
    top = json::parse(text, ec);
    if (ec)
      return invalidArgument("config file " + path.string() + ": invalid JSON: " + ec.message());
  } else if (ext == ".toml") {
    try {
      top = tomlToJson(toml::parse(text, path.string()));
    } catch (const toml::parse_error& e) {
      std::ostringstream os;
      os << "config file " << path.string() << ": invalid TOML at line " << e.source().begin.line
         << ": " << e.description();
      return invalidArgument(os.str());
    }
  } else {
    return invalidArgument("config file " + path.string() +
                           ": unknown format (use a .toml or .json file)");
  }
  if (!top.is_object())
    return invalidArgument("config file " + path.string() + ": expected an object");
  return Applier(cfg, path.string()).apply(top.get_object());
}

}  // namespace

Status AgentConfig::validate() const {
  auto port = [](const char* name, int p, bool allowDisable) -> Status {
    if ((p < 0 && !(allowDisable && p == -1)) || p > 65535)
      return invalidArgument(std::string(name) + ": port " + std::to_string(p) +
                             " is out of range 0-65535");
    return {};
  };
  for (auto st : {port("ports.http", httpPort, true), port("ports.https", httpsPort, true),
                  port("ports.dns", dnsPort, true), port("ports.server", serverPort, true)})
    if (!st.ok()) return st;
  if (!dev && dataDir.empty()) return invalidArgument("data_dir: required (or run with -dev)");
  if (datacenter.empty() ||
      datacenter.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
    return invalidArgument("datacenter: \"" + datacenter +
                           "\" must be lower-case letters, digits, '-' or '_'");
  if (nodeName.size() > 128 || nodeName.find_first_of("/\0 ", 0, 3) != std::string::npos)
    return invalidArgument("node_name: \"" + nodeName + "\" is not a valid node name");
  if (bootstrapExpect < 0) return invalidArgument("bootstrap_expect: must not be negative");
  static const std::set<std::string> levels = {"trace",   "debug", "info", "warn",
                                               "warning", "error", "off"};
  if (!levels.count(logLevel))
    return invalidArgument("log_level: \"" + logLevel +
                           "\" is not one of trace, debug, info, warn, error");
  if (httpThreads < 1 || httpThreads > 64)
    return invalidArgument("http_config.threads: must be 1-64");
  if (auto ttl = parseDuration(connectLeafCertTtl);
      !ttl.ok() || *ttl < std::chrono::seconds(10) || *ttl > std::chrono::hours(24 * 365))
    return invalidArgument("connect.leaf_cert_ttl: \"" + connectLeafCertTtl +
                           "\" must be a duration from 10s to 8760h");
  if (auto g = parseDuration(checkRunGranularity);
      !g.ok() || g->count() < 0 || *g > std::chrono::seconds(1))
    return invalidArgument("check_run_granularity: \"" + checkRunGranularity +
                           "\" must be a duration from 0s to 1s");
  if (checkClose != "fin" && checkClose != "reset")
    return invalidArgument("check_close: \"" + checkClose + "\" must be fin or reset");
  if (connectDefaultIntentionPolicy != "allow" && connectDefaultIntentionPolicy != "deny")
    return invalidArgument("connect.default_intention_policy: \"" + connectDefaultIntentionPolicy +
                           "\" must be allow or deny");
  if (httpPort < 0 && httpsPort < 0)
    return invalidArgument(
        "ports.http and ports.https are both off: the API would not be reachable");
  if (httpsPort >= 0)
    if (auto t = httpsTls(*this); !t.ok()) return t.error();
  if (server && !dev) {
    auto t = serverTls(*this);
    if (!t.ok()) return t.error();
  }
  return {};
}

Result<std::optional<tls::TlsConfig>> serverTls(const AgentConfig& c) {
  const TlsStanza& d = c.tls.defaults;
  const TlsStanza& r = c.tls.internalRpc;
  bool in = r.verifyIncoming.value_or(d.verifyIncoming.value_or(false));
  bool out = r.verifyOutgoing.value_or(d.verifyOutgoing.value_or(false));
  if (!in && !out) return std::optional<tls::TlsConfig>();
  if (in != out)
    return invalidArgument(
        std::string("tls: verify_incoming is ") + (in ? "on" : "off") + " but verify_outgoing is " +
        (out ? "on" : "off") +
        ": connections between servers are either mutual TLS (both on) or plain TCP (both off)");
  tls::TlsConfig t;
  auto file = [&](const char* key, const std::optional<std::string>& rv,
                  const std::optional<std::string>& dv, std::string& dst) -> Status {
    dst = rv.value_or(dv.value_or(""));
    if (dst.empty())
      return invalidArgument(std::string("tls.defaults.") + key +
                             ": required for mutual TLS between servers (verify_incoming and "
                             "verify_outgoing are on)");
    return {};
  };
  for (const auto& st : {file("ca_file", r.caFile, d.caFile, t.caFile),
                         file("cert_file", r.certFile, d.certFile, t.certFile),
                         file("key_file", r.keyFile, d.keyFile, t.keyFile)})
    if (!st.ok()) return st.error();
  auto version = tls::parseTlsVersion(r.minVersion.value_or(d.minVersion.value_or("TLSv1_2")));
  if (!version.ok()) return invalidArgument("tls_min_version: " + version.error().message);
  t.minVersion = *version;
  if (c.tls.verifyServerHostname) {
    auto name = [&](std::string domain) {
      while (!domain.empty() && domain.back() == '.') domain.pop_back();
      return "server." + c.datacenter + "." + domain;
    };
    t.peerNames.push_back(name(c.domain));
    if (!c.altDomain.empty() && name(c.altDomain) != t.peerNames[0])
      t.peerNames.push_back(name(c.altDomain));
  }
  return std::optional<tls::TlsConfig>(std::move(t));
}

Result<tls::TlsConfig> httpsTls(const AgentConfig& c) {
  const TlsStanza& d = c.tls.defaults;
  const TlsStanza& h = c.tls.https;
  tls::TlsConfig t;
  t.role = tls::TlsRole::kServer;
  t.verifyPeer = h.verifyIncoming.value_or(d.verifyIncoming.value_or(false));
  t.caFile = h.caFile.value_or(d.caFile.value_or(""));
  t.certFile = h.certFile.value_or(d.certFile.value_or(""));
  t.keyFile = h.keyFile.value_or(d.keyFile.value_or(""));
  if (t.certFile.empty() || t.keyFile.empty())
    return invalidArgument(
        "ports.https is set: tls.https (or tls.defaults) needs cert_file and key_file");
  if (t.verifyPeer && t.caFile.empty())
    return invalidArgument(
        "tls.https.verify_incoming is on: ca_file is required to check "
        "client certificates");
  auto version = tls::parseTlsVersion(h.minVersion.value_or(d.minVersion.value_or("TLSv1_2")));
  if (!version.ok()) return invalidArgument("tls_min_version: " + version.error().message);
  t.minVersion = *version;
  return t;
}

Result<AgentConfig> loadConfigFiles(const ConfigSources& src, AgentConfig cfg) {
  for (const auto& f : src.files) {
    Status st = applyFile(f, cfg);
    if (!st.ok()) return st.error();
  }
  for (const auto& d : src.dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) return invalidArgument("config dir " + d + " is not a directory");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(d, ec)) {
      auto ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".json" || ext == ".toml")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      Status st = applyFile(f, cfg);
      if (!st.ok()) return st.error();
    }
  }
  return cfg;
}

}  // namespace cairn::server
