// What every client command's runner gets, and the helpers they share.
// Internal to the CLI.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/client_flags.hpp"
#include "client/client.hpp"

namespace cairn::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the command ran and failed
inline constexpr int kExitUsage = 2;  // the command line is wrong

struct Invocation {
  const ClientFlags& flags;
  const std::vector<std::string>& args;  // the arguments after the command words
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

using Runner = int (*)(client::Client&, const Invocation&);

// Writes "error: <message>" as one line; returns kExitError.
int failure(std::ostream& err, const std::string& message);
// Prints the server's JSON for `target`, re-indented.
int printJson(client::Client& c, const std::string& target, const Invocation& inv);
bool wantsJson(const Invocation& inv);
// -stale, -consistent, -tag and -passing as query options.
client::QueryOptions queryOptions(const ClientFlags& flags);

// The runners, by file.
int servicesRegister(client::Client& c, const Invocation& inv);
int servicesDeregister(client::Client& c, const Invocation& inv);
int catalogServices(client::Client& c, const Invocation& inv);
int catalogNodes(client::Client& c, const Invocation& inv);
int catalogService(client::Client& c, const Invocation& inv);
int healthService(client::Client& c, const Invocation& inv);
int healthChecks(client::Client& c, const Invocation& inv);
int healthState(client::Client& c, const Invocation& inv);
int members(client::Client& c, const Invocation& inv);
int join(client::Client& c, const Invocation& inv);
int leave(client::Client& c, const Invocation& inv);
int operatorRaft(client::Client& c, const Invocation& inv);
int snapshotSave(client::Client& c, const Invocation& inv);
int snapshotRestore(client::Client& c, const Invocation& inv);
int snapshotInspect(client::Client& c, const Invocation& inv);
int watch(client::Client& c, const Invocation& inv);
int resolve(client::Client& c, const Invocation& inv);

}  // namespace cairn::cli
