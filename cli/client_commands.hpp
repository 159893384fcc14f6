// The CLI's client commands: they talk to a Cairn server over its HTTP API.
//
//   cairn services register <file.json|->     cairn catalog services
//   cairn services deregister <id>            cairn catalog nodes
//   cairn health service <name> [-passing]    cairn catalog service <name>
//   cairn operator raft list-peers
//   cairn snapshot save <file> [-stale]       cairn snapshot restore <file>
//   cairn snapshot inspect <file>
//
// Flags anywhere: -http-addr ADDR (default $CAIRN_HTTP_ADDR, else
// 127.0.0.1:8500) and -format table|json (default table).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::cli {

// True for the first words runClientCommand handles: services, catalog,
// health, operator, snapshot.
bool isClientCommand(std::string_view command);

// Runs the command named by args[0] (e.g. {"catalog", "nodes", "-format",
// "json"}). Writes results to `out`; on failure writes to `err` and returns
// 1: a usage message naming the problem for bad usage, one line for a
// failure at run time (server unreachable, HTTP error, bad file). Returns 0
// on success. `in` is read for `services register -`.
int runClientCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err);
// As above, reading std::cin.
int runClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The usage text of the client commands.
std::string clientCommandsUsage();

}  // namespace cairn::cli
