// The client commands that read and write the catalog and the cluster:
// services, catalog, health, members, join, leave, operator raft.
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <istream>
#include <ostream>

#include "cli/command.hpp"
#include "cli/output.hpp"
#include "cli/service_definition.hpp"
#include "client/api_paths.hpp"

namespace cairn::cli {
namespace {

namespace paths = client::paths;

constexpr std::size_t kMaxDefinitionBytes = std::size_t{1} << 20;

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

}  // namespace

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
  auto q = queryOptions(inv.flags);
  if (wantsJson(inv)) return printJson(c, paths::catalogServices(q), inv);
  auto services = c.catalogServices(q);
  if (!services) return failure(inv.err, services.error().message);
  Table table({"Service", "Tags"});
  for (const auto& [name, tags] : *services) table.addRow({name, joinTags(tags)});
  table.print(inv.out);
  return 0;
}

int catalogNodes(client::Client& c, const Invocation& inv) {
  auto q = queryOptions(inv.flags);
  if (wantsJson(inv)) return printJson(c, paths::catalogNodes(q), inv);
  auto nodes = c.catalogNodes(q);
  if (!nodes) return failure(inv.err, nodes.error().message);
  Table table({"Node", "Address", "DC"});
  for (const auto& n : *nodes) table.addRow({n.node, n.address, n.datacenter});
  table.print(inv.out);
  return 0;
}

int catalogService(client::Client& c, const Invocation& inv) {
  const std::string& name = inv.args[0];
  auto q = queryOptions(inv.flags);
  if (wantsJson(inv)) return printJson(c, paths::catalogService(name, q), inv);
  auto instances = c.catalogService(name, q);
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
  auto q = queryOptions(inv.flags);
  if (wantsJson(inv)) return printJson(c, paths::healthService(name, q), inv);
  auto entries = c.healthService(name, q);
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

namespace {

int printChecks(const Result<std::vector<client::HealthCheck>>& checks, const Invocation& inv) {
  if (!checks) return failure(inv.err, checks.error().message);
  Table table({"Node", "CheckID", "Name", "Status", "ServiceID", "Output"});
  for (const auto& k : *checks) {
    std::string output = k.output.substr(0, k.output.find('\n'));
    table.addRow({k.node, k.checkId, k.name, k.status, k.serviceId, output});
  }
  table.print(inv.out);
  return 0;
}

}  // namespace

int healthChecks(client::Client& c, const Invocation& inv) {
  const std::string& name = inv.args[0];
  auto q = queryOptions(inv.flags);
  if (wantsJson(inv)) return printJson(c, paths::healthChecks(name, q), inv);
  return printChecks(c.healthChecks(name, q), inv);
}

int healthState(client::Client& c, const Invocation& inv) {
  const std::string& state = inv.args[0];
  auto q = queryOptions(inv.flags);
  if (state != "any" && state != "passing" && state != "warning" && state != "critical") {
    inv.err << "error: health state \"" << state << "\" is not any, passing, warning or critical\n";
    return kExitUsage;
  }
  if (wantsJson(inv)) return printJson(c, paths::healthState(state, q), inv);
  return printChecks(c.healthState(state, q), inv);
}

// `cairn operator raft list-peers|remove-peer|transfer-leader`.
int operatorRaft(client::Client& c, const Invocation& inv) {
  const std::string& sub = inv.args[0];
  if (sub == "remove-peer") {
    if (inv.flags.id.empty() == inv.flags.address.empty()) {
      inv.err << "error: operator raft remove-peer needs exactly one of -id or -address\n";
      return kExitUsage;
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
    return kExitUsage;
  }
  if (wantsJson(inv)) return printJson(c, std::string(paths::kRaftConfiguration), inv);
  auto servers = c.raftPeers();
  if (!servers) return failure(inv.err, servers.error().message);
  Table table({"Node", "ID", "Address", "State", "Voter"});
  for (const auto& s : *servers) {
    table.addRow(
        {s.node, s.id, s.address, s.leader ? "leader" : "follower", s.voter ? "true" : "false"});
  }
  table.print(inv.out);
  return 0;
}

// `cairn members`: the servers, with the status the leader sees.
int members(client::Client& c, const Invocation& inv) {
  if (wantsJson(inv)) return printJson(c, std::string(paths::kMembers), inv);
  auto members = c.members();
  if (!members) return failure(inv.err, members.error().message);
  Table table({"Node", "Address", "Status", "Type", "DC"});
  for (const auto& m : *members)
    table.addRow({m.name, m.address, m.status, "server", m.datacenter});
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

}  // namespace cairn::cli
