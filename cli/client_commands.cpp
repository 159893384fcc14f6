// Dispatch, usage and help of the client commands.
#include "cli/client_commands.hpp"

#include <algorithm>
#include <array>
#include <iostream>

#include "cli/command.hpp"
#include "cli/output.hpp"
#include "client/client.hpp"

namespace cairn::cli {
namespace {

constexpr std::chrono::minutes kSnapshotTimeout{10};
constexpr std::size_t kMaxSnapshotResponseBytes = std::size_t{2} << 30;

struct Command {
  std::string_view group;
  std::string_view name;  // empty: a one-word command
  std::string_view argName;
  int minArgs;
  int maxArgs;             // -1: any number
  std::string_view flags;  // the flags it takes besides the common ones, space-separated
  std::string_view summary;
  Runner run;
};

constexpr auto kCommands = std::to_array<Command>({
    {"members", "", "", 0, 0, "", "the cluster's servers and their status", members},
    {"join", "", "<ip:server-port>...", 1, -1, "", "join this server to the cluster of those",
     join},
    {"leave", "", "", 0, 0, "", "leave the cluster gracefully, then stop", leave},
    {"services", "register", "<file.json|->", 1, 1, "",
     "register the service(s) defined in a file or on stdin", servicesRegister},
    {"services", "deregister", "<id>", 1, 1, "", "deregister a service instance",
     servicesDeregister},
    {"catalog", "services", "", 0, 0, "stale consistent", "list services and their tags",
     catalogServices},
    {"catalog", "nodes", "", 0, 0, "stale consistent", "list nodes", catalogNodes},
    {"catalog", "service", "<name>", 1, 1, "tag stale consistent",
     "list the instances of a service", catalogService},
    {"health", "service", "<name>", 1, 1, "passing tag stale consistent",
     "instances of a service with their health", healthService},
    {"health", "checks", "<service>", 1, 1, "stale consistent",
     "the checks of every instance of a service", healthChecks},
    {"health", "state", "<any|passing|warning|critical>", 1, 1, "stale consistent",
     "every check in a state", healthState},
    {"watch", "", "[-- <handler> [args]...]", 0, 0, "type service state tag passing stale",
     "run a handler with the JSON on stdin at each change", watch},
    {"resolve", "", "<name>", 1, 1, "dns-addr",
     "find a service by DNS (SRV, RFC 2782 choice; A/AAAA fallback)", resolve},
    {"operator", "raft", "<list-peers|remove-peer|transfer-leader>", 1, 1, "id address",
     "the Raft configuration; remove a server; move leadership", operatorRaft},
    {"snapshot", "save", "<file>", 1, 1, "stale", "save a point-in-time copy of the catalog",
     snapshotSave},
    {"snapshot", "restore", "<file>", 1, 1, "", "replace the whole catalog with a saved copy",
     snapshotRestore},
    {"snapshot", "inspect", "<file>", 1, 1, "", "check a saved copy and show what it holds",
     snapshotInspect},
});

constexpr std::string_view kCommonFlags =
    "Common flags:\n"
    "  -http-addr=<addr>   server address: host:port, http://host:port or\n"
    "                      https://host:port (default $CAIRN_HTTP_ADDR, else\n"
    "                      127.0.0.1:8500; host:port is HTTPS if $CAIRN_HTTP_SSL=true)\n"
    "  -token=<token>      sent as X-Consul-Token (default $CAIRN_HTTP_TOKEN)\n"
    "  -format=table|json  output format (default table; json is the server's JSON)\n"
    "  -ca-file=<file>     HTTPS: PEM bundle of the CAs to trust (default $CAIRN_CACERT;\n"
    "                      without it or -ca-path, the system's CAs)\n"
    "  -ca-path=<dir>      HTTPS: trust every PEM certificate in this directory\n"
    "                      (default $CAIRN_CAPATH)\n"
    "  -client-cert=<file> HTTPS: client certificate, for verify_incoming\n"
    "                      (default $CAIRN_CLIENT_CERT)\n"
    "  -client-key=<file>  HTTPS: its unencrypted key (default $CAIRN_CLIENT_KEY)\n"
    "  -tls-server-name=<name>  HTTPS: the name the server's certificate must hold\n"
    "                      (default $CAIRN_TLS_SERVER_NAME, else the address's host)\n"
    "  -h, -help           this help\n"
    "Every $CAIRN_* variable can also be given as Consul's $CONSUL_*;\n"
    "$CAIRN_HTTP_SSL_VERIFY=false skips the server certificate check (tests only).\n"
    "Flags take one or two dashes, and -flag=value or -flag value.\n"
    "\n"
    "Exit codes: 0 success; 1 the command failed (server unreachable or timed out,\n"
    "HTTP error, malformed answer, bad file); 2 bad usage (unknown command or flag,\n"
    "wrong arguments).\n";

constexpr std::string_view kWatchNotes =
    "\n"
    "watch: -type service -service <name> [-passing] [-tag <tag>]... | -type services |\n"
    "-type nodes | -type checks (-service <name> | -state <state>). Runs blocking\n"
    "queries until interrupted; at the first answer and at each change it runs the\n"
    "handler with the answer's JSON on stdin and CAIRN_INDEX (and CONSUL_INDEX) set.\n"
    "An answer equal to the last one is not delivered again, even across a server\n"
    "restart. Without a handler it prints the JSON once and exits. Errors after the\n"
    "first answer are printed and retried with back-off; an error before it exits 1.\n";

constexpr std::string_view kResolveNotes =
    "\n"
    "resolve: <name> is a service (<name>.service.consul) or a full DNS name such as\n"
    "v2.web.service.consul. Prints the instance chosen as RFC 2782 says (lowest\n"
    "priority, then weighted random) and the whole SRV set; a name without SRV\n"
    "records falls back to A/AAAA. Gives up after 3 s per server (1 s, then 2 s).\n";

constexpr std::string_view kSnapshotNotes =
    "\n"
    "Snapshots: save writes the file atomically (a temporary file beside it, then a\n"
    "rename) after checking it, and prints the index it was taken at. restore checks\n"
    "the file, then the server checks it again and replaces every node, service and\n"
    "check with the file's, in one step on every server; restored records get the\n"
    "index of the restore as their CreateIndex and ModifyIndex. A corrupt, truncated\n"
    "or newer-format file is refused and nothing changes.\n";

bool takesFlag(const Command& c, std::string_view flag) {
  std::string_view list = c.flags;
  while (!list.empty()) {
    std::string_view word = list.substr(0, list.find(' '));
    if (word == flag) return true;
    list.remove_prefix(std::min(list.size(), word.size() + 1));
  }
  return false;
}

std::string commandLine(const Command& c) {
  std::string line = "cairn " + std::string(c.group);
  if (!c.name.empty()) line += " " + std::string(c.name);
  for (const FlagHelp& f : flagHelp()) {
    if (takesFlag(c, f.name)) line += " [" + std::string(f.syntax) + "]";
  }
  if (!c.argName.empty()) line += " " + std::string(c.argName);
  return line;
}

// Usage of the commands of `group` (all when empty), their flags, the
// common flags and the exit codes.
std::string usage(std::string_view group) {
  std::string text = "Usage:\n";
  std::vector<const Command*> shown;
  for (const Command& c : kCommands) {
    if (!group.empty() && c.group != group) continue;
    text += "  " + commandLine(c) + "\n      " + std::string(c.summary) + "\n";
    shown.push_back(&c);
  }
  std::string flagText;
  for (const FlagHelp& f : flagHelp()) {
    if (std::none_of(shown.begin(), shown.end(),
                     [&](const Command* c) { return takesFlag(*c, f.name); })) {
      continue;
    }
    std::string syntax(f.syntax);
    syntax.resize(std::max<std::size_t>(syntax.size() + 2, 22), ' ');
    flagText += "  " + syntax + std::string(f.help) + "\n";
  }
  if (!flagText.empty()) text += "\nFlags:\n" + flagText;
  text += "\n" + std::string(kCommonFlags);
  if (group.empty() || group == "watch") text += kWatchNotes;
  if (group.empty() || group == "resolve") text += kResolveNotes;
  if (group.empty() || group == "snapshot") text += kSnapshotNotes;
  return text;
}

int usageError(std::ostream& err, const std::string& problem, std::string_view group = {}) {
  err << "error: " << problem << "\n\n" << usage(group);
  return kExitUsage;
}

std::string subcommandsOf(std::string_view group) {
  std::string names;
  for (const Command& c : kCommands) {
    if (c.group != group) continue;
    if (!names.empty()) names += ", ";
    names += c.name;
  }
  return names;
}

std::string plural(int n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

}  // namespace

int failure(std::ostream& err, const std::string& message) {
  err << "error: " << message << '\n';
  return kExitError;
}

int printJson(client::Client& c, const std::string& target, const Invocation& inv) {
  auto body = c.get(target);
  if (!body) return failure(inv.err, body.error().message);
  auto pretty = prettyJson(*body);
  if (!pretty) {
    return failure(inv.err, pretty.error().message + " (GET " + target + " from cairn at " +
                                c.address() + ")");
  }
  inv.out << *pretty;
  return kExitOk;
}

bool wantsJson(const Invocation& inv) {
  return inv.flags.format == OutputFormat::kJson;
}

client::QueryOptions queryOptions(const ClientFlags& flags) {
  client::QueryOptions q;
  if (flags.stale) q.consistency = client::Consistency::kStale;
  if (flags.consistent) q.consistency = client::Consistency::kConsistent;
  q.tags = flags.tags;
  q.passing = flags.passing;
  return q;
}

bool isClientCommand(std::string_view command) {
  for (const Command& c : kCommands) {
    if (c.group == command) return true;
  }
  return false;
}

std::string clientCommandsUsage() {
  return usage({});
}

int runClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return runClientCommand(args, std::cin, out, err);
}

int runClientCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err) {
  auto flags = parseClientFlags(args);
  std::string group = flags && !flags->positionals.empty() ? flags->positionals[0] : "";
  if (!isClientCommand(group)) group.clear();
  if (!flags) return usageError(err, flags.error().message, group);
  const std::vector<std::string>& words = flags->positionals;
  if (flags->help) {
    out << usage(group);
    return kExitOk;
  }
  if (words.empty()) return usageError(err, "missing command");
  if (group.empty()) return usageError(err, "unknown command \"" + words[0] + "\"");

  const Command* command = nullptr;
  std::size_t used = 1;
  for (const Command& c : kCommands) {
    if (c.group != group) continue;
    if (c.name.empty()) {
      command = &c;
    } else if (words.size() > 1 && c.name == words[1]) {
      command = &c;
      used = 2;
    }
  }
  if (command == nullptr) {
    if (words.size() < 2) {
      return usageError(err, "\"" + group + "\" needs a subcommand: " + subcommandsOf(group),
                        group);
    }
    return usageError(err,
                      "unknown command \"" + group + " " + words[1] + "\"; \"" + group +
                          "\" has: " + subcommandsOf(group),
                      group);
  }
  std::string full = group + (command->name.empty() ? "" : " " + std::string(command->name));
  std::vector<std::string> rest(words.begin() + static_cast<std::ptrdiff_t>(used), words.end());
  if (command->run != watch) rest.insert(rest.end(), flags->rest.begin(), flags->rest.end());
  int n = static_cast<int>(rest.size());
  if (n < command->minArgs || (command->maxArgs >= 0 && n > command->maxArgs)) {
    std::string want = command->maxArgs == 0  ? "no arguments"
                       : command->maxArgs < 0 ? "at least " + plural(command->minArgs, "argument")
                                              : "one argument, " + std::string(command->argName);
    return usageError(err, "\"" + full + "\" takes " + want + ", got " + std::to_string(n), group);
  }
  for (const std::string& a : rest) {
    if (a.empty()) return usageError(err, "\"" + full + "\": an argument is empty", group);
  }
  for (const std::string& f : flags->given) {
    if (isCommonFlag(f) || takesFlag(*command, f)) continue;
    return usageError(err, "flag -" + f + " does not apply to \"" + full + "\"", group);
  }
  if (flags->stale && flags->consistent) {
    return usageError(err, "-stale and -consistent exclude each other", group);
  }

  client::ClientConfig config;
  config.address = flags->httpAddr;
  config.token = flags->token;
  config.caFile = flags->caFile;
  config.caPath = flags->caPath;
  config.clientCert = flags->clientCert;
  config.clientKey = flags->clientKey;
  config.tlsServerName = flags->tlsServerName;
  if (group == "snapshot") {
    config.timeout = kSnapshotTimeout;
    config.maxResponseBytes = kMaxSnapshotResponseBytes;
  }
  auto c = client::Client::create(config);
  if (!c) return failure(err, c.error().message);
  return command->run(**c, Invocation{*flags, rest, in, out, err});
}

}  // namespace cairn::cli
