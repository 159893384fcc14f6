#include "cli/client_flags.hpp"

#include <string_view>

namespace cairn::cli {
namespace {

Result<bool> parseBool(std::string_view flag, std::string_view value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return invalidArgument("invalid value \"" + std::string(value) + "\" for flag " +
                         std::string(flag) + ": want true or false");
}

bool isBoolFlag(std::string_view name) {
  return name == "passing" || name == "stale" || name == "consistent";
}

bool isTlsFlag(std::string_view name) {
  return name == "ca-file" || name == "ca-path" || name == "client-cert" || name == "client-key" ||
         name == "tls-server-name";
}

bool isValueFlag(std::string_view name) {
  return isTlsFlag(name) || name == "http-addr" || name == "token" || name == "format" ||
         name == "id" || name == "address" || name == "tag" || name == "type" ||
         name == "service" || name == "state" || name == "dns-addr";
}

Status setValue(ClientFlags& f, std::string_view name, std::string_view flag,
                const std::string& value) {
  if (name == "http-addr") f.httpAddr = value;
  if (name == "token") f.token = value;
  if (name == "ca-file") f.caFile = value;
  if (name == "ca-path") f.caPath = value;
  if (name == "client-cert") f.clientCert = value;
  if (name == "client-key") f.clientKey = value;
  if (name == "tls-server-name") f.tlsServerName = value;
  if (name == "id") f.id = value;
  if (name == "address") f.address = value;
  if (name == "tag") f.tags.push_back(value);
  if (name == "type") f.type = value;
  if (name == "service") f.service = value;
  if (name == "state") f.state = value;
  if (name == "dns-addr") {
    std::string_view rest = value;
    while (!rest.empty()) {
      std::string_view part = rest.substr(0, rest.find(','));
      if (!part.empty()) f.dnsAddrs.emplace_back(part);
      rest.remove_prefix(std::min(rest.size(), part.size() + 1));
    }
  }
  if (name == "format") {
    if (value == "table") {
      f.format = OutputFormat::kTable;
    } else if (value == "json") {
      f.format = OutputFormat::kJson;
    } else {
      return invalidArgument("invalid value \"" + value + "\" for flag " + std::string(flag) +
                             ": want table or json");
    }
  }
  return {};
}

}  // namespace

Result<ClientFlags> parseClientFlags(const std::vector<std::string>& args) {
  ClientFlags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      flags.rest.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      flags.positionals.push_back(arg);
      continue;
    }
    std::string_view body(arg);
    body.remove_prefix(body.substr(0, 2) == "--" ? 2 : 1);
    std::string_view name = body.substr(0, body.find('='));
    bool hasValue = name.size() < body.size();
    std::string_view flag = std::string_view(arg).substr(0, arg.size() - body.size() + name.size());
    std::string value = hasValue ? std::string(body.substr(name.size() + 1)) : std::string();

    if (isValueFlag(name)) {
      if (!hasValue) {
        if (i + 1 >= args.size()) {
          return invalidArgument("flag " + std::string(flag) + " needs a value");
        }
        value = args[++i];
      }
      if (value.empty()) return invalidArgument("flag " + std::string(flag) + " needs a value");
      if (Status st = setValue(flags, name, flag, value); !st) return st.error();
    } else if (isBoolFlag(name)) {
      bool on = true;
      if (hasValue) {
        auto parsed = parseBool(flag, value);
        if (!parsed) return parsed.error();
        on = *parsed;
      }
      (name == "passing" ? flags.passing : name == "stale" ? flags.stale : flags.consistent) = on;
    } else if ((name == "h" || name == "help") && !hasValue) {
      flags.help = true;
      continue;
    } else {
      return invalidArgument("unknown flag \"" + std::string(flag) + "\"");
    }
    flags.given.insert(std::string(name));
  }
  return flags;
}

bool isCommonFlag(std::string_view name) {
  return name == "http-addr" || name == "token" || name == "format" || isTlsFlag(name);
}

const std::vector<FlagHelp>& flagHelp() {
  static const std::vector<FlagHelp> kHelp = {
      {"passing", "-passing", "only instances whose checks all pass"},
      {"tag", "-tag=<tag>", "only instances with this tag (repeat for several)"},
      {"stale", "-stale", "let any server answer from its own state (faster, may lag)"},
      {"consistent", "-consistent", "confirm leadership with a quorum before answering"},
      {"id", "-id=<id>", "which server (ID as list-peers shows, node ID or name)"},
      {"address", "-address=<ip:port>", "which server, by its server address"},
      {"type", "-type=<type>", "what to watch: service, services, nodes or checks"},
      {"service", "-service=<name>", "the service to watch (-type service or checks)"},
      {"state", "-state=<state>", "-type checks: any, passing, warning or critical"},
      {"dns-addr", "-dns-addr=<ip:port>",
       "DNS server (default $CAIRN_DNS_ADDR, else 127.0.0.1:8600); repeat or\n"
       "                        separate with commas for fail-over"},
  };
  return kHelp;
}

}  // namespace cairn::cli
