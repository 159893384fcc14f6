#include "cli/client_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/client_flags.hpp"
#include "cli/output.hpp"
#include "cli/service_definition.hpp"
#include "client/api_paths.hpp"
#include "client/client.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::cli {
namespace {

namespace paths = client::paths;

constexpr std::size_t kMaxDefinitionBytes = std::size_t{1} << 20;
// Snapshot files the CLI reads or receives: past the server's largest
// configurable restore body (http_config.max_snapshot_bytes is an int).
constexpr std::size_t kMaxSnapshotFileBytes = std::size_t{2} << 30;
constexpr std::chrono::minutes kSnapshotTimeout{10};

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
    "  cairn snapshot save <file> [-stale]     save a point-in-time copy of the catalog\n"
    "  cairn snapshot restore <file>           replace the whole catalog with a saved copy\n"
    "  cairn snapshot inspect <file>           check a saved copy and show what it holds\n"
    "\n"
    "Flags:\n"
    "  -http-addr=<addr>    server HTTP address (default $CAIRN_HTTP_ADDR, else "
    "127.0.0.1:8500)\n"
    "  -format=table|json   output format (default table)\n"
    "  -passing             health service: only instances whose checks all pass\n"
    "  -id, -address        operator raft remove-peer/transfer-leader: which server\n"
    "  -stale               snapshot save: let any server answer from its own state\n"
    "                       (default: the copy includes every write committed before it)\n"
    "\n"
    "Snapshots: save writes the file atomically (a temporary file beside it, then a\n"
    "rename) after checking it, and prints the index it was taken at. restore checks\n"
    "the file, then the server checks it again and replaces every node, service and\n"
    "check with the file's, in one step on every server; restored records get the\n"
    "index of the restore as their CreateIndex and ModifyIndex. A corrupt, truncated\n"
    "or newer-format file is refused and nothing changes.\n";

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

// Reads a whole snapshot file, bounded by kMaxSnapshotFileBytes.
Result<std::string> readSnapshotFile(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return ioError("cannot read snapshot \"" + path + "\": " + ec.message());
  if (size > kMaxSnapshotFileBytes)
    return invalidArgument("snapshot \"" + path + "\" is " + std::to_string(size) +
                           " bytes, larger than the limit of " +
                           std::to_string(kMaxSnapshotFileBytes));
  std::ifstream file(path, std::ios::binary);
  std::string data(size, '\0');
  if (!file || !file.read(data.data(), static_cast<std::streamsize>(size)))
    return ioError("cannot read snapshot \"" + path + "\": " + std::strerror(errno));
  return data;
}

// Writes `data` to `path` so that `path` is either untouched or complete: a
// temporary file in the same directory, synced, then renamed over it.
Status writeFileAtomically(const std::string& path, std::string_view data) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return ioError("cannot create a temporary file in \"" + dir.string() +
                   "\": " + std::strerror(errno));
  auto fail = [&](const std::string& what) {
    Error e = ioError("cannot write \"" + path + "\": " + what + ": " + std::strerror(errno));
    ::close(fd);
    ::unlink(tmpl.c_str());
    return e;
  };
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    fd = -1;
    ::unlink(tmpl.c_str());
    return ioError("cannot write \"" + path + "\": close: " + std::strerror(errno));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    Error e =
        ioError("cannot rename the temporary file to \"" + path + "\": " + std::strerror(errno));
    ::unlink(tmpl.c_str());
    return e;
  }
  // The rename is durable once the directory is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

int snapshotSave(client::Client& c, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto snap = c.snapshotSave(inv.flags.stale);
  if (!snap) return failure(inv.err, snap.error().message);
  // Checked before anything is written: a file that verifies here is one a
  // restore accepts.
  auto summary = registry::verifySnapshotFile(snap->data);
  if (!summary)
    return failure(inv.err,
                   "the snapshot from cairn at " + c.address() +
                       " does not verify, nothing was written: " + summary.error().message);
  if (Status st = writeFileAtomically(path, snap->data); !st)
    return failure(inv.err, st.error().message);
  inv.out << "Saved and verified snapshot to index " << summary->index << '\n';
  return 0;
}

std::string counted(uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

int snapshotRestore(client::Client& c, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto data = readSnapshotFile(path);
  if (!data) return failure(inv.err, data.error().message);
  auto summary = registry::verifySnapshotFile(*data);
  if (!summary)
    return failure(inv.err, "snapshot \"" + path +
                                "\" refused, nothing was changed: " + summary.error().message);
  auto at = c.snapshotRestore(*data);
  if (!at) return failure(inv.err, at.error().message);
  inv.out << "Restored snapshot taken at index " << summary->index << " ("
          << counted(summary->nodes, "node") << ", " << counted(summary->services, "service")
          << ", " << counted(summary->checks, "check") << "); the catalog is now at index " << *at
          << '\n';
  return 0;
}

int snapshotInspect(client::Client&, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto data = readSnapshotFile(path);
  if (!data) return failure(inv.err, data.error().message);
  auto s = registry::verifySnapshotFile(*data);
  if (!s) return failure(inv.err, "snapshot \"" + path + "\": " + s.error().message);
  Table table({"Field", "Value"});
  table.addRow({"Index", std::to_string(s->index)});
  table.addRow({"Version", std::to_string(s->version)});
  table.addRow({"Size", std::to_string(s->fileBytes)});
  table.addRow({"Nodes", std::to_string(s->nodes)});
  table.addRow({"Services", std::to_string(s->services)});
  table.addRow({"Checks", std::to_string(s->checks)});
  table.print(inv.out);
  return 0;
}

constexpr std::array<Command, 10> kCommands = {{
    {"services", "register", "<file.json|->", servicesRegister},
    {"services", "deregister", "<id>", servicesDeregister},
    {"catalog", "services", "", catalogServices},
    {"catalog", "nodes", "", catalogNodes},
    {"catalog", "service", "<name>", catalogService},
    {"health", "service", "<name>", healthService},
    {"operator", "raft", "<list-peers|remove-peer|transfer-leader>", operatorRaft},
    {"snapshot", "save", "<file>", snapshotSave},
    {"snapshot", "restore", "<file>", snapshotRestore},
    {"snapshot", "inspect", "<file>", snapshotInspect},
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
  if (flags->staleGiven && full != "snapshot save") {
    return usageError(err, "flag -stale applies only to \"snapshot save\"");
  }

  client::ClientConfig config;
  config.address = flags->httpAddr;
  if (words[0] == "snapshot") {
    config.timeout = kSnapshotTimeout;
    config.maxResponseBytes = kMaxSnapshotFileBytes;
  }
  auto c = client::Client::create(config);
  if (!c) return failure(err, c.error().message);
  return command->run(**c, Invocation{*flags, rest, in, out, err});
}

}  // namespace cairn::cli
