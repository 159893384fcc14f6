// `cairn agent` command-line flags, with Consul's names and spellings.
#include <unistd.h>

#include <functional>
#include <map>

#include "server/config.hpp"

namespace cairn::server {
namespace {

struct FlagSpec {
  bool takesValue;
  const char* help;
  std::function<Status(AgentConfig&, const std::string&)> set;
};

Status toInt(const std::string& flag, const std::string& v, int& out) {
  try {
    size_t pos = 0;
    out = std::stoi(v, &pos);
    if (pos == v.size()) return {};
  } catch (...) {
  }
  return invalidArgument("flag -" + flag + ": \"" + v + "\" is not a number");
}

Status toBool(const std::string& flag, const std::string& v, bool& out) {
  if (v.empty() || v == "true" || v == "1")
    out = true;
  else if (v == "false" || v == "0")
    out = false;
  else
    return invalidArgument("flag -" + flag + ": \"" + v + "\" is not true or false");
  return {};
}

const std::map<std::string, FlagSpec>& specs() {
  using C = AgentConfig;
  static const std::map<std::string, FlagSpec> s = {
      {"dev",
       {false, "one-server development mode (in-memory-like temp data dir)",
        [](C& c, const std::string& v) { return toBool("dev", v, c.dev); }}},
      {"server",
       {false, "run as a server",
        [](C& c, const std::string& v) { return toBool("server", v, c.server); }}},
      {"data-dir",
       {true, "directory for state",
        [](C& c, const std::string& v) {
          c.dataDir = v;
          return Status();
        }}},
      {"node",
       {true, "node name (default: host name)",
        [](C& c, const std::string& v) {
          c.nodeName = v;
          return Status();
        }}},
      {"node-id",
       {true, "node ID",
        [](C& c, const std::string& v) {
          c.nodeId = v;
          return Status();
        }}},
      {"datacenter",
       {true, "datacenter name (default dc1)",
        [](C& c, const std::string& v) {
          c.datacenter = v;
          return Status();
        }}},
      {"bind",
       {true, "address for server-to-server traffic",
        [](C& c, const std::string& v) {
          c.bindAddr = v;
          return Status();
        }}},
      {"advertise",
       {true, "address other servers use to reach this one",
        [](C& c, const std::string& v) {
          c.advertiseAddr = v;
          return Status();
        }}},
      {"client",
       {true, "address for HTTP and DNS",
        [](C& c, const std::string& v) {
          c.clientAddr = v;
          return Status();
        }}},
      {"http-port",
       {true, "HTTP API port (0: pick a free port, -1: off)",
        [](C& c, const std::string& v) { return toInt("http-port", v, c.httpPort); }}},
      {"https-port",
       {true, "HTTPS API port (0: pick a free port, -1: off; needs tls cert_file and key_file)",
        [](C& c, const std::string& v) { return toInt("https-port", v, c.httpsPort); }}},
      {"dns-port",
       {true, "DNS port (0: free port, -1: off)",
        [](C& c, const std::string& v) { return toInt("dns-port", v, c.dnsPort); }}},
      {"server-port",
       {true, "server RPC/Raft port",
        [](C& c, const std::string& v) { return toInt("server-port", v, c.serverPort); }}},
      {"bootstrap-expect",
       {true, "servers to wait for before bootstrapping",
        [](C& c, const std::string& v) {
          return toInt("bootstrap-expect", v, c.bootstrapExpect);
        }}},
      {"bootstrap",
       {false, "bootstrap a one-server cluster",
        [](C& c, const std::string& v) {
          bool b = false;
          Status st = toBool("bootstrap", v, b);
          if (b) c.bootstrapExpect = 1;
          return st;
        }}},
      {"retry-join",
       {true, "server address to join (repeatable)",
        [](C& c, const std::string& v) {
          c.retryJoin.push_back(v);
          return Status();
        }}},
      {"log-level",
       {true, "trace, debug, info, warn or error",
        [](C& c, const std::string& v) {
          c.logLevel = v;
          return Status();
        }}},
      {"log-json",
       {false, "log one JSON object per line",
        [](C& c, const std::string& v) { return toBool("log-json", v, c.logJson); }}},
      {"domain",
       {true, "DNS domain (default cairn.)",
        [](C& c, const std::string& v) {
          c.domain = v;
          return Status();
        }}},
      {"alt-domain",
       {true, "alternate DNS domain (default consul.)",
        [](C& c, const std::string& v) {
          c.altDomain = v;
          return Status();
        }}},
      {"recursor",
       {true, "upstream DNS server (repeatable)",
        [](C& c, const std::string& v) {
          c.recursors.push_back(v);
          return Status();
        }}},
      {"enable-script-checks",
       {false, "allow script checks",
        [](C& c, const std::string& v) {
          return toBool("enable-script-checks", v, c.enableScriptChecks);
        }}},
      {"check-close",
       {true, "how HTTP/TCP checks close: fin or reset",
        [](C& c, const std::string& v) {
          c.checkClose = v;
          return Status();
        }}},
      {"check-io-uring",
       {false, "plain HTTP/TCP checks through io_uring when the kernel allows (default true)",
        [](C& c, const std::string& v) { return toBool("check-io-uring", v, c.checkIoUring); }}},
  };
  return s;
}

std::string helpText() {
  std::string h =
      "Usage: cairn agent [options]\n\n"
      "  -config-file FILE     a .toml or .json config file (repeatable)\n"
      "  -config-dir DIR       every .toml/.json file in DIR, in name order (repeatable)\n";
  for (const auto& [name, spec] : specs()) {
    std::string left = "  -" + name + (spec.takesValue ? " VALUE" : "");
    left.resize(std::max<size_t>(left.size() + 1, 24), ' ');
    h += left + spec.help + "\n";
  }
  return h;
}

}  // namespace

Result<ParsedAgentArgs> parseAgentArgs(const std::vector<std::string>& args) {
  ParsedAgentArgs out;
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-')
      return invalidArgument("unexpected argument \"" + a + "\" (flags start with -)");
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::string value;
    bool hasValue = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    if (name == "h" || name == "help") {
      out.help = true;
      out.helpText = helpText();
      return out;
    }
    bool isSource = name == "config-file" || name == "config-dir";
    auto it = specs().find(name);
    if (!isSource && it == specs().end())
      return invalidArgument("unknown flag -" + name + " (see cairn agent -help)");
    bool takesValue = isSource || it->second.takesValue;
    if (takesValue && !hasValue) {
      if (i + 1 >= args.size()) return invalidArgument("flag -" + name + " needs a value");
      value = args[++i];
    }
    if (name == "config-file")
      out.sources.files.push_back(value);
    else if (name == "config-dir")
      out.sources.dirs.push_back(value);
    else
      flags.emplace_back(name, value);
  }
  AgentConfig base;
  bool dev = false;
  for (const auto& [n, v] : flags)
    if (n == "dev") {
      Status st = toBool("dev", v, dev);
      if (!st.ok()) return st.error();
    }
  if (dev) {
    base.dev = true;
    base.server = true;
    base.bootstrapExpect = 1;
    base.bindAddr = "127.0.0.1";
  }
  auto cfg = loadConfigFiles(out.sources, base);
  if (!cfg.ok()) return cfg.error();
  out.config = std::move(*cfg);
  // Retry-join from files is replaced, not extended, by flags.
  bool sawJoin = false;
  for (const auto& [n, v] : flags) {
    if (n == "retry-join" && !sawJoin) {
      out.config.retryJoin.clear();
      sawJoin = true;
    }
    Status st = specs().at(n).set(out.config, v);
    if (!st.ok()) return st.error();
  }
  auto& c = out.config;
  if (c.nodeName.empty()) {
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) == 0) c.nodeName = host;
    if (c.nodeName.empty()) c.nodeName = "cairn";
  }
  if (c.advertiseAddr.empty())
    c.advertiseAddr = (c.bindAddr == "0.0.0.0" || c.bindAddr == "::") ? "127.0.0.1" : c.bindAddr;
  Status st = c.validate();
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace cairn::server
