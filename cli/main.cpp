// cairn: one binary, three roles: `cairn agent` (the server), `cairn proxy`
// (the sidecar), and client commands for operators.
#include <iostream>
#include <string>
#include <vector>

#include "proxy/proxy.hpp"
#include "server/agent.hpp"
#ifdef CAIRN_HAVE_CLIENT_COMMANDS
#include "cli/acl_commands.hpp"
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
    "  members    the cluster's servers and their status\n"
    "  join       join this server to a cluster (join <ip:server-port>...)\n"
    "  leave      leave the cluster gracefully and stop this server\n"
    "  services   register or deregister services\n"
    "  catalog    list services, nodes, or the instances of a service\n"
    "  health     the health of a service's instances, its checks, checks by state\n"
    "  watch      run a handler at each change of a service, the services, nodes or checks\n"
    "  resolve    find a service over DNS (SRV, RFC 2782) as an application would\n"
    "  operator   raft list-peers | remove-peer | transfer-leader\n"
    "  snapshot   save, restore or inspect a point-in-time copy of the catalog\n"
    "  acl        bootstrap ACLs, create and list policies and tokens\n"
    "  version    print the version\n\n"
    "`cairn <command> -help` shows a command's usage and flags.\n";

constexpr int kExitUsage = 2;

void printHelp() {
  std::cout << kUsage;
#ifdef CAIRN_HAVE_CLIENT_COMMANDS
  std::cout << "\n" << cairn::cli::clientCommandsUsage();
#endif
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  std::string cmd = args[0];
  if (cmd == "-h" || cmd == "--help" || cmd == "-help" || cmd == "help") {
    printHelp();
    return 0;
  }
  if (cmd == "version" || cmd == "-version" || cmd == "--version") {
    std::cout << "Cairn v" << CAIRN_VERSION << "\n";
    return 0;
  }
  if (cmd == "agent") return cairn::server::runAgent({args.begin() + 1, args.end()});
  if (cmd == "proxy") return cairn::proxy::runProxyCommand({args.begin() + 1, args.end()});
#ifdef CAIRN_HAVE_CLIENT_COMMANDS
  if (cmd == "acl") return cairn::cli::runAclCommand(args, std::cout, std::cerr);
  if (cairn::cli::isClientCommand(cmd))
    return cairn::cli::runClientCommand(args, std::cout, std::cerr);
#endif
  std::cerr << "cairn: unknown command \"" << cmd << "\"\n\n" << kUsage;
  return kExitUsage;
}
