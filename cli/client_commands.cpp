#include "cli/client_commands.hpp"

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/client_flags.hpp"
#include "cli/output.hpp"
#include "cli/service_definition.hpp"
#include "client/api_paths.hpp"
#include "client/client.hpp"

namespace cairn::cli {
namespace {

namespace paths = client::paths;

constexpr std::size_t kMaxDefinitionBytes = std::size_t{1} << 20;

constexpr std::string_view kUsage =
    "Usage:\n"
    "  cairn services register <file.json|->   register the service(s) defined in a file\n"
    "  cairn services deregister <id>          deregister a service instance\n"
    "  cairn catalog services                  list services and their tags\n"
    "  cairn catalog nodes                     list nodes\n"
    "  cairn catalog service <name>            list the instances of a service\n"
    "  cairn health service <name> [-passing]  show instances with their health\n"
    "  cairn members                           list the cluster's servers and their status\n"
    "  cairn join <ip:server-port>...          join this server to the cluster of those\n"
    "  cairn leave                             leave the cluster gracefully, then stop\n"
    "  cairn operator raft list-peers          the Raft configuration and the leader\n"
    "  cairn operator raft remove-peer -id=<id>|-address=<ip:port>\n"
    "                                          remove a (failed) server from the cluster\n"
    "  cairn operator raft transfer-leader [-id=<id>]\n"
    "                                          move leadership to that server (or any)\n"
    "\n"
    "Flags:\n"
    "  -http-addr=<addr>    server HTTP address (default $CAIRN_HTTP_ADDR, else "
    "127.0.0.1:8500)\n"
    "  -format=table|json   output format (default table)\n"
    "  -passing             health service: only instances whose checks all pass\n"
    "  -id, -address        operator raft remove-peer/transfer-leader: which server\n";

// What one command needs from the command line, after validation.
struct Invocation {
  const ClientFlags& flags;
  const std::vector<std::string>& args;  // the arguments after the two command words
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

using Runner = int (*)(client::Client&, const Invocation&);

struct Command {
  std::string_view group;
  std::string_view name;
  std::string_view argName;  // empty: takes no argument
  Runner run;
};

int usageError(std::ostream& err, const std::string& problem) {
  err << "error: " << problem << "\n\n" << kUsage;
  return 1;
}

int failure(std::ostream& err, const std::string& message) {
  err << "error: " << message << '\n';
  return 1;
}

// Prints the server's JSON for `target`, re-indented.
int printJson(client::Client& c, const std::string& target, const Invocation& inv) {
  auto body = c.get(target);
  if (!body) return failure(inv.err, body.error().message);
  auto pretty = prettyJson(*body);
  if (!pretty) return failure(inv.err, pretty.error().message + " (GET " + target + ")");
  inv.out << *pretty;
  return 0;
}

bool wantsJson(const Invocation& inv) {
  return inv.flags.format == OutputFormat::kJson;
}

std::string portText(int port) {
  return port == 0 ? std::string() : std::to_string(port);
}

Result<std::string> readDefinitionFile(const std::string& path, std::istream& in) {
  std::string text;
  std::string label = path == "-" ? "standard input" : path;
  std::ifstream file;
  std::istream* source = &in;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      return ioError("cannot read service definition \"" + path + "\": " + std::strerror(errno));
    }
    source = &file;
  }
  std::array<char, std::size_t{16} << 10> chunk;
  while (source->read(chunk.data(), chunk.size()) || source->gcount() > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(source->gcount()));
    if (text.size() > kMaxDefinitionBytes) {
      return invalidArgument("service definition in " + label + " is larger than 1 MiB");
    }
  }
  if (source->bad()) return ioError("cannot read service definition from " + label);
  return text;
}

int servicesRegister(client::Client& c, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto text = readDefinitionFile(path, inv.in);
  if (!text) return failure(inv.err, text.error().message);
  auto defs = parseServiceDefinitions(*text);
  if (!defs) {
    std::string label = path == "-" ? "standard input" : path;
    return failure(inv.err, "bad service definition in " + label + ": " + defs.error().message);
  }
  for (const ServiceDefinition& def : *defs) {
    if (Status st = c.registerService(def.json); !st) {
      return failure(inv.err, "registering service \"" + def.name + "\": " + st.error().message);
    }
    inv.out << "Registered service: " << def.name << '\n';
  }
  return 0;
}

int servicesDeregister(client::Client& c, const Invocation& inv) {
  const std::string& id = inv.args[0];
  if (Status st = c.deregisterService(id); !st) return failure(inv.err, st.error().message);
  inv.out << "Deregistered service: " << id << '\n';
  return 0;
}

int catalogServices(client::Client& c, const Invocation& inv) {
  if (wantsJson(inv)) return printJson(c, std::string(paths::kCatalogServices), inv);
  auto services = c.catalogServices();
  if (!services) return failure(inv.err, services.error().message);
  Table table({"Service", "Tags"});
  for (const auto& [name, tags] : *services) table.addRow({name, joinTags(tags)});
  table.print(inv.out);
  return 0;
}

int catalogNodes(client::Client& c, const Invocation& inv) {
  if (wantsJson(inv)) return printJson(c, std::string(paths::kCatalogNodes), inv);
  auto nodes = c.catalogNodes();
  if (!nodes) return failure(inv.err, nodes.error().message);
  Table table({"Node", "Address", "DC"});
  for (const auto& n : *nodes) table.addRow({n.node, n.address, n.datacenter});
  table.print(inv.out);
  return 0;
}

int catalogService(client::Client& c, const Invocation& inv) {
  const std::string& name = inv.args[0];
  if (wantsJson(inv)) return printJson(c, paths::catalogService(name), inv);
  auto instances = c.catalogService(name);
  if (!instances) return failure(inv.err, instances.error().message);
  Table table({"Node", "ServiceID", "Address", "Port", "Tags"});
  for (const auto& i : *instances) {
    const std::string& address = i.serviceAddress.empty() ? i.address : i.serviceAddress;
    table.addRow({i.node, i.serviceId, address, portText(i.servicePort), joinTags(i.serviceTags)});
  }
  table.print(inv.out);
  return 0;
}

int healthService(client::Client& c, const Invocation& inv) {
  const std::string& name = inv.args[0];
  bool passing = inv.flags.passing;
  if (wantsJson(inv)) return printJson(c, paths::healthService(name, passing), inv);
  auto entries = c.healthService(name, passing);
  if (!entries) return failure(inv.err, entries.error().message);
  Table table({"Node", "ServiceID", "Address", "Port", "Status", "Tags"});
  for (const auto& e : *entries) {
    const std::string& address = e.serviceAddress.empty() ? e.nodeAddress : e.serviceAddress;
    table.addRow(
        {e.node, e.serviceId, address, portText(e.servicePort), e.status, joinTags(e.serviceTags)});
  }
  table.print(inv.out);
  return 0;
}

// `cairn operator raft list-peers|remove-peer|transfer-leader`.
int operatorRaft(client::Client& c, const Invocation& inv) {
  const std::string& sub = inv.args[0];
  if (sub == "remove-peer") {
    if (inv.flags.id.empty() == inv.flags.address.empty()) {
      inv.err << "error: operator raft remove-peer needs exactly one of -id or -address\n";
      return 1;
    }
    bool byAddress = !inv.flags.address.empty();
    const std::string& target = byAddress ? inv.flags.address : inv.flags.id;
    Status st = c.removePeer(target, byAddress);
    if (!st.ok()) return failure(inv.err, st.error().message);
    inv.out << "Removed peer with " << (byAddress ? "address" : "id") << " \"" << target << "\"\n";
    return 0;
  }
  if (sub == "transfer-leader") {
    Status st = c.transferLeader(inv.flags.id);
    if (!st.ok()) return failure(inv.err, st.error().message);
    inv.out << "Success! Leadership transferred"
            << (inv.flags.id.empty() ? "" : " to \"" + inv.flags.id + "\"") << "\n";
    return 0;
  }
  if (sub != "list-peers") {
    inv.err << "error: unknown operator raft subcommand \"" << sub
            << "\" (use list-peers, remove-peer or transfer-leader)\n";
    return 1;
  }
  auto body = c.get("/v1/operator/raft/configuration");
  if (!body) return failure(inv.err, body.error().message);
  if (wantsJson(inv)) return printJson(c, "/v1/operator/raft/configuration", inv);
  boost::system::error_code ec;
  auto v = boost::json::parse(*body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("Servers") || !v.at("Servers").is_array())
    return failure(inv.err, "unexpected answer from the server: " + body->substr(0, 200));
  Table table({"Node", "ID", "Address", "State", "Voter"});
  for (const auto& s : v.at("Servers").as_array()) {
    if (!s.is_object()) continue;
    const auto& o = s.as_object();
    auto str = [&](const char* k) {
      auto it = o.find(k);
      return it != o.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                      : std::string();
    };
    auto flag = [&](const char* k) {
      auto it = o.find(k);
      return it != o.end() && it->value().is_bool() && it->value().as_bool();
    };
    table.addRow({str("Node"), str("ID"), str("Address"), flag("Leader") ? "leader" : "follower",
                  flag("Voter") ? "true" : "false"});
  }
  table.print(inv.out);
  return 0;
}

constexpr std::array<Command, 7> kCommands = {{
    {"services", "register", "<file.json|->", servicesRegister},
    {"services", "deregister", "<id>", servicesDeregister},
    {"catalog", "services", "", catalogServices},
    {"catalog", "nodes", "", catalogNodes},
    {"catalog", "service", "<name>", catalogService},
    {"health", "service", "<name>", healthService},
    {"operator", "raft", "<list-peers|remove-peer|transfer-leader>", operatorRaft},
}};

// `cairn members`: the servers, with the status the leader sees.
int members(client::Client& c, const Invocation& inv) {
  if (wantsJson(inv)) return printJson(c, "/v1/agent/members", inv);
  auto body = c.get("/v1/agent/members");
  if (!body) return failure(inv.err, body.error().message);
  boost::system::error_code ec;
  auto v = boost::json::parse(*body, ec);
  if (ec || !v.is_array())
    return failure(inv.err, "unexpected answer from the server: " + body->substr(0, 200));
  Table table({"Node", "Address", "Status", "Type", "DC"});
  for (const auto& m : v.as_array()) {
    if (!m.is_object()) continue;
    const auto& o = m.as_object();
    auto str = [](const boost::json::object& obj, const char* k) {
      auto it = obj.find(k);
      return it != obj.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                        : std::string();
    };
    auto num = [&](const char* k) {
      auto it = o.find(k);
      return it != o.end() && it->value().is_int64() ? it->value().as_int64() : 0;
    };
    static const char* kStatus[] = {"none", "alive", "leaving", "left", "failed"};
    int64_t st = num("Status");
    boost::json::object tags;
    if (auto it = o.find("Tags"); it != o.end() && it->value().is_object())
      tags = it->value().as_object();
    table.addRow({str(o, "Name"), str(o, "Addr") + ":" + std::to_string(num("Port")),
                  st >= 0 && st <= 4 ? kStatus[st] : "unknown", "server", str(tags, "dc")});
  }
  table.print(inv.out);
  return 0;
}

// `cairn join ADDR...`: each address is a server's "ip:server-port".
int join(client::Client& c, const Invocation& inv) {
  for (const auto& a : inv.args) {
    Status st = c.join(a);
    if (!st.ok()) return failure(inv.err, st.error().message);
  }
  inv.out << "Successfully joined cluster by contacting " << inv.args.size() << " nodes.\n";
  return 0;
}

int leave(client::Client& c, const Invocation& inv) {
  Status st = c.leave();
  if (!st.ok()) return failure(inv.err, st.error().message);
  inv.out << "Graceful leave complete\n";
  return 0;
}

struct TopCommand {
  std::string_view name;
  bool takesArgs;
  Runner run;
};
constexpr std::array<TopCommand, 3> kTopCommands = {{
    {"members", false, members},
    {"join", true, join},
    {"leave", false, leave},
}};

std::string subcommandsOf(std::string_view group) {
  std::string names;
  for (const Command& c : kCommands) {
    if (c.group != group) continue;
    if (!names.empty()) names += ", ";
    names += c.name;
  }
  return names;
}

}  // namespace

bool isClientCommand(std::string_view command) {
  for (const Command& c : kCommands) {
    if (c.group == command) return true;
  }
  for (const TopCommand& c : kTopCommands) {
    if (c.name == command) return true;
  }
  return false;
}

std::string clientCommandsUsage() {
  return std::string(kUsage);
}

int runClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return runClientCommand(args, std::cin, out, err);
}

int runClientCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err) {
  auto flags = parseClientFlags(args);
  if (!flags) return usageError(err, flags.error().message);
  if (flags->help) {
    out << kUsage;
    return 0;
  }
  const std::vector<std::string>& words = flags->positionals;
  if (words.empty()) return usageError(err, "missing command");
  if (!isClientCommand(words[0])) return usageError(err, "unknown command \"" + words[0] + "\"");
  for (const TopCommand& top : kTopCommands) {
    if (top.name != words[0]) continue;
    std::vector<std::string> rest(words.begin() + 1, words.end());
    if (top.takesArgs && rest.empty())
      return usageError(err, "\"" + words[0] + "\" needs at least one address (ip:server-port)");
    if (!top.takesArgs && !rest.empty())
      return usageError(
          err, "\"" + words[0] + "\" takes no arguments, got " + std::to_string(rest.size()));
    client::ClientConfig config;
    config.address = flags->httpAddr;
    auto c = client::Client::create(config);
    if (!c) return failure(err, c.error().message);
    return top.run(**c, Invocation{*flags, rest, in, out, err});
  }
  if (words.size() < 2) {
    return usageError(err, "\"" + words[0] + "\" needs a subcommand: " + subcommandsOf(words[0]));
  }
  const Command* command = nullptr;
  for (const Command& c : kCommands) {
    if (c.group == words[0] && c.name == words[1]) command = &c;
  }
  std::string full = words[0] + " " + words[1];
  if (command == nullptr) {
    return usageError(err, "unknown command \"" + full + "\"; \"" + words[0] +
                               "\" has: " + subcommandsOf(words[0]));
  }
  std::vector<std::string> rest(words.begin() + 2, words.end());
  std::size_t want = command->argName.empty() ? 0 : 1;
  if (rest.size() != want) {
    std::string problem = "\"" + full + "\" takes ";
    problem += want == 0 ? "no arguments" : "one argument, " + std::string(command->argName);
    problem += ", got " + std::to_string(rest.size());
    return usageError(err, problem);
  }
  if (want == 1 && rest[0].empty()) {
    return usageError(err, "\"" + full + "\": " + std::string(command->argName) + " is empty");
  }
  if (flags->passingGiven && full != "health service") {
    return usageError(err, "flag -passing applies only to \"health service\"");
  }

  client::ClientConfig config;
  config.address = flags->httpAddr;
  auto c = client::Client::create(config);
  if (!c) return failure(err, c.error().message);
  return command->run(**c, Invocation{*flags, rest, in, out, err});
}

}  // namespace cairn::cli
