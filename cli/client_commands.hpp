// The CLI's client commands: they talk to a Cairn server over its HTTP API
// (through the client library) or its DNS interface (resolve): members,
// join, leave, services, catalog, health, watch, resolve, operator raft,
// snapshot. `cairn <command> -help` shows each one's usage and flags.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::cli {

// True for the first words runClientCommand handles.
bool isClientCommand(std::string_view command);

// Runs the command named by args[0] (e.g. {"catalog", "nodes", "-format",
// "json"}). Writes results to `out`. Returns 0 on success; 1 when the
// command failed at run time (one line on `err`: server unreachable, HTTP
// error, bad file); 2 for bad usage (the problem and the usage on `err`).
// `in` is read for `services register -`.
int runClientCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                     std::ostream& err);
// As above, reading std::cin.
int runClientCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// The usage text of every client command, their flags and the exit codes.
std::string clientCommandsUsage();

}  // namespace cairn::cli
