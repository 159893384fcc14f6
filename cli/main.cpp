// cairn: one binary, three roles: `cairn agent` (the server), `cairn proxy`
// (the sidecar), and client commands for operators.
#include <iostream>
#include <string>
#include <vector>

#include "proxy/proxy.hpp"
#include "server/agent.hpp"
#ifdef CAIRN_HAVE_CLIENT_COMMANDS
#include "cli/client_commands.hpp"
#endif

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kUsage =
    "Usage: cairn <command> [args]\n\n"
    "Commands:\n"
    "  agent      run a Cairn server (see cairn agent -help)\n"
    "  proxy      run the sidecar proxy (see cairn proxy -help)\n"
    "  services   register or deregister services (register <file.json|->, deregister <id>)\n"
    "  catalog    list services, nodes, or the instances of a service\n"
    "  health     show the health of a service's instances\n"
    "  members    the cluster's servers and their status\n"
    "  join       join this server to a cluster (join <ip:server-port>...)\n"
    "  leave      leave the cluster gracefully and stop this server\n"
    "  operator   raft list-peers | remove-peer | transfer-leader\n"
    "  snapshot   save, restore or inspect a point-in-time copy of the catalog\n"
    "  version    print the version\n\n"
    "Client commands take -http-addr ADDR (or CAIRN_HTTP_ADDR) and -format table|json.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 1;
  }
  std::string cmd = args[0];
  if (cmd == "-h" || cmd == "--help" || cmd == "-help" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "-version" || cmd == "--version") {
    std::cout << "Cairn v" << CAIRN_VERSION << "\n";
    return 0;
  }
  if (cmd == "agent") return cairn::server::runAgent({args.begin() + 1, args.end()});
  if (cmd == "proxy") return cairn::proxy::runProxyCommand({args.begin() + 1, args.end()});
#ifdef CAIRN_HAVE_CLIENT_COMMANDS
  if (cairn::cli::isClientCommand(cmd))
    return cairn::cli::runClientCommand(args, std::cout, std::cerr);
#endif
  std::cerr << "cairn: unknown command \"" << cmd << "\"\n\n" << kUsage;
  return 1;
}
