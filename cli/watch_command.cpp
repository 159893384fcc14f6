// cairn watch: blocking queries in a loop, a handler run at each change.
#include <ostream>

#include "cli/command.hpp"
#include "cli/handler.hpp"
#include "cli/output.hpp"
#include "client/api_paths.hpp"
#include "common/duration.hpp"

namespace cairn::cli {
namespace {

namespace paths = client::paths;

constexpr auto kMaxBackoff = std::chrono::seconds(5);

struct Target {
  std::string path;
  std::string problem;  // not empty: bad usage
};

Target watchTarget(const ClientFlags& f) {
  client::QueryOptions q = queryOptions(f);
  bool serviceOnly = !f.tags.empty() || f.given.count("passing") != 0;
  if (f.type.empty()) return {"", "watch needs -type (service, services, nodes or checks)"};
  if (f.type != "service" && serviceOnly) return {"", "-tag and -passing need -type service"};
  if (f.type != "service" && f.type != "checks" && !f.service.empty()) {
    return {"", "-service needs -type service or checks"};
  }
  if (f.type != "checks" && !f.state.empty()) return {"", "-state needs -type checks"};
  if (f.type == "service") {
    if (f.service.empty()) return {"", "-type service needs -service <name>"};
    return {paths::healthService(f.service, q), ""};
  }
  if (f.type == "services") return {paths::catalogServices(q), ""};
  if (f.type == "nodes") return {paths::catalogNodes(q), ""};
  if (f.type == "checks") {
    if (f.service.empty() == f.state.empty()) {
      return {"", "-type checks needs one of -service <name> or -state <state>"};
    }
    if (!f.service.empty()) return {paths::healthChecks(f.service, q), ""};
    if (f.state != "any" && f.state != "passing" && f.state != "warning" && f.state != "critical") {
      return {"", "-state must be any, passing, warning or critical"};
    }
    return {paths::healthState(f.state, q), ""};
  }
  return {"", "unknown watch type \"" + f.type + "\" (use service, services, nodes or checks)"};
}

}  // namespace

int watch(client::Client& c, const Invocation& inv) {
  Target target = watchTarget(inv.flags);
  if (!target.problem.empty()) {
    inv.err << "error: " << target.problem << "\n(see cairn watch -help)\n";
    return kExitUsage;
  }
  if (inv.flags.rest.empty()) return printJson(c, target.path, inv);

  client::WatchOptions options;
  options.failFast = true;
  options.maxBackoff = kMaxBackoff;
  options.onError = [&](const Error& e, std::chrono::milliseconds retryIn) {
    inv.err << "error: " << e.message << " (retrying in " << formatDuration(retryIn) << ")"
            << std::endl;
  };
  Status st = c.watch(target.path, options, [&](const client::WatchEvent& e) {
    std::string index = std::to_string(e.index);
    auto pretty = prettyJson(e.json);
    auto code = runHandler(inv.flags.rest, pretty ? *pretty : e.json,
                           {{"CAIRN_INDEX", index}, {"CONSUL_INDEX", index}});
    if (!code) {
      inv.err << "error: " << code.error().message << std::endl;
      return false;
    }
    if (*code != 0) {
      inv.err << "warning: handler exited with status " << *code << " at index " << index
              << std::endl;
    }
    return true;
  });
  if (!st) return failure(inv.err, st.error().message);
  return kExitError;  // the handler could not be started
}

}  // namespace cairn::cli
