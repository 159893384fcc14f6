// Client's read endpoints and watches.
#include <thread>

#include "client/api_paths.hpp"
#include "client/client.hpp"
#include "client/decode.hpp"

namespace cairn::client {
namespace {

constexpr auto kDefaultServerWait = std::chrono::minutes(5);
constexpr auto kBlockingMargin = std::chrono::seconds(5);

using Clock = std::chrono::steady_clock;

bool stopped(const WatchOptions& options) {
  return options.stop != nullptr && options.stop->load();
}

// Sleeps up to `d`, in short slices so a stop request is seen.
void pauseFor(std::chrono::milliseconds d, const WatchOptions& options) {
  auto until = Clock::now() + d;
  while (!stopped(options) && Clock::now() < until) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(50)));
  }
}

}  // namespace

std::chrono::milliseconds blockingTimeout(std::chrono::milliseconds wait) {
  if (wait.count() <= 0) wait = kDefaultServerWait;
  return wait + wait / 16 + kBlockingMargin;
}

template <typename T>
Result<T> Client::query(const std::string& target, const QueryOptions& options,
                        Result<T> (*decode)(std::string_view)) {
  auto timeout = options.index != 0 ? blockingTimeout(options.wait) : std::chrono::milliseconds(0);
  auto res = call("GET", target, {}, kJsonContentType, timeout);
  if (!res) return res.error();
  Result<T> value = decode(res->body);
  if (value) return value;
  Error e = value.error();
  e.message += " (GET " + target + " from cairn at " + address_ + ")";
  return e;
}

Result<std::map<std::string, std::vector<std::string>>> Client::catalogServices(
    const QueryOptions& o) {
  return query(paths::catalogServices(o), o, decodeCatalogServices);
}

Result<std::vector<CatalogNode>> Client::catalogNodes(const QueryOptions& o) {
  return query(paths::catalogNodes(o), o, decodeCatalogNodes);
}

Result<std::vector<CatalogServiceInstance>> Client::catalogService(std::string_view name,
                                                                   const QueryOptions& o) {
  if (name.empty()) return invalidArgument("empty service name");
  return query(paths::catalogService(name, o), o, decodeCatalogService);
}

Result<std::vector<HealthServiceEntry>> Client::healthService(std::string_view name,
                                                              const QueryOptions& o) {
  if (name.empty()) return invalidArgument("empty service name");
  return query(paths::healthService(name, o), o, decodeHealthService);
}

Result<std::vector<HealthServiceEntry>> Client::healthService(std::string_view name,
                                                              bool passingOnly) {
  QueryOptions o;
  o.passing = passingOnly;
  return healthService(name, o);
}

Result<std::vector<HealthCheck>> Client::healthChecks(std::string_view service,
                                                      const QueryOptions& o) {
  if (service.empty()) return invalidArgument("empty service name");
  return query(paths::healthChecks(service, o), o, decodeHealthChecks);
}

Result<std::vector<HealthCheck>> Client::healthState(std::string_view state,
                                                     const QueryOptions& o) {
  if (state != "any" && state != "passing" && state != "warning" && state != "critical") {
    return invalidArgument("health state \"" + std::string(state) +
                           "\" is not any, passing, warning or critical");
  }
  return query(paths::healthState(state, o), o, decodeHealthChecks);
}

Result<std::vector<Member>> Client::members() {
  return query(std::string(paths::kMembers), {}, decodeMembers);
}

Result<std::vector<RaftServer>> Client::raftPeers() {
  return query(std::string(paths::kRaftConfiguration), {}, decodeRaftConfiguration);
}

Result<std::string> Client::leader() {
  return query(std::string(paths::kStatusLeader), {}, decodeString);
}

Status Client::watch(std::string_view target, const WatchOptions& options,
                     const WatchHandler& handler) {
  WatchPlan plan(options);
  auto timeout = blockingTimeout(options.wait);
  while (!stopped(options)) {
    std::uint64_t index = plan.nextIndex();
    std::string url =
        index == 0 ? std::string(target) : paths::withBlocking(target, index, options.wait);
    auto started = Clock::now();
    auto res = call("GET", url, {}, kJsonContentType, timeout);
    if (!res) {
      if (stopped(options)) break;
      if (!plan.onError()) return res.error();
      if (options.onError) options.onError(res.error(), plan.pause());
      pauseFor(plan.pause(), options);
      continue;
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    if (plan.onAnswer(res->index, res->body, elapsed)) {
      if (!handler(WatchEvent{res->index, std::move(res->body)})) return {};
    }
    pauseFor(plan.pause(), options);
  }
  return {};
}

Status Client::watchService(std::string_view name, const QueryOptions& query,
                            const WatchOptions& options, const ServiceHandler& handler) {
  if (name.empty()) return invalidArgument("empty service name");
  QueryOptions q = query;
  q.index = 0;
  Status failed;
  Status st = watch(paths::healthService(name, q), options, [&](const WatchEvent& e) {
    auto entries = decodeHealthService(e.json);
    if (!entries) {
      Error err = entries.error();
      err.message +=
          " (watch of service \"" + std::string(name) + "\" on cairn at " + address_ + ")";
      failed = err;
      return false;
    }
    return handler(*entries, e.index);
  });
  if (!failed) return failed;
  return st;
}

}  // namespace cairn::client
