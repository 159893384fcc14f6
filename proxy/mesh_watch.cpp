#include "proxy/mesh_watch.hpp"

#include <thread>

#include "proxy/instances.hpp"
#include "proxy/watch_support.hpp"

namespace cairn::proxy {

struct MeshWatch::Shared : WatchState {
  MeshWatchConfig config;
  Handlers handlers;
};

namespace {

// One GET; the decoded body and the answer's X-Consul-Index.
template <class T>
Result<std::pair<T, uint64_t>> fetch(Client& client, const std::string& target,
                                     Result<T> (*decode)(std::string_view)) {
  auto resp = client.request("GET", target);
  if (!resp.ok()) return resp.error();
  if (resp->status != 200)
    return unavailable("GET " + target.substr(0, target.find('?')) + ": status " +
                       std::to_string(resp->status) + ": " + resp->body.substr(0, 200));
  auto v = decode(resp->body);
  if (!v.ok()) return v.error();
  return std::make_pair(std::move(*v), resp->index);
}

template <class T>
void follow(std::shared_ptr<MeshWatch::Shared> s, std::unique_ptr<Client> client, std::string base,
            Result<T> (*decode)(std::string_view), T last, uint64_t index, const char* what,
            void (*publish)(MeshWatch::Shared&, T)) {
  RetryBackoff backoff(s->config.retryMin, s->config.retryMax);
  while (true) {
    auto got = fetch<T>(*client, base + std::to_string(index), decode);
    if (!got.ok()) {
      if (!s->deliver([&] {
            if (s->handlers.failure) s->handlers.failure(what, got.error());
          }))
        return;
      if (!s->sleepFor(backoff.next())) return;
      index = 0;  // the agent may have been replaced: start over
      continue;
    }
    backoff.reset();
    index = nextBlockingIndex(index, got->second);
    if (got->first == last) {
      if (!s->deliver([] {})) return;
      continue;
    }
    last = got->first;
    if (!s->deliver([&] { publish(*s, got->first); })) return;
  }
}

}  // namespace

Result<std::unique_ptr<MeshWatch>> MeshWatch::create(MeshWatchConfig config, Handlers handlers,
                                                     MeshLeaf& firstLeaf, MeshRoots& firstRoots) {
  if (config.service.empty()) return invalidArgument("mesh: empty service name");
  if (config.wait.count() <= 0) return invalidArgument("mesh: wait must be > 0");
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + config.startupWait;
  // The first fetches are not blocking queries: bound each by what is left.
  ClientConfig first = config.client;
  first.connectTimeout = std::min(first.connectTimeout, std::chrono::milliseconds(2000));
  first.timeout = std::min(first.timeout, std::chrono::milliseconds(5000));
  auto firstClient = Client::create(first);
  if (!firstClient.ok()) return firstClient.error();
  const std::string leafPath = "/v1/agent/connect/ca/leaf/" + percentEncode(config.service);
  const std::string rootsPath = "/v1/agent/connect/ca/roots";
  std::optional<std::pair<MeshLeaf, uint64_t>> leaf;
  std::optional<std::pair<MeshRoots, uint64_t>> roots;
  std::string lastError;
  auto backoff = config.retryMin;
  while (!leaf || !roots) {
    if (!roots) {
      auto r = fetch<MeshRoots>(**firstClient, rootsPath, decodeMeshRoots);
      if (r.ok())
        roots = std::move(*r);
      else
        lastError = "roots: " + r.error().message;
    }
    if (roots && !leaf) {
      auto l = fetch<MeshLeaf>(**firstClient, leafPath, decodeMeshLeaf);
      if (l.ok())
        leaf = std::move(*l);
      else
        lastError = "leaf: " + l.error().message;
    }
    if (leaf && roots) break;
    if (std::chrono::steady_clock::now() + backoff > deadline)
      return unavailable("no mesh certificate from the agent within " +
                         std::to_string(config.startupWait.count()) + " ms (" + lastError + ")");
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, config.retryMax);
  }
  firstLeaf = leaf->first;
  firstRoots = roots->first;

  config.client.timeout = client::blockingTimeout(config.wait);
  auto leafClient = Client::create(config.client);
  if (!leafClient.ok()) return leafClient.error();
  auto rootsClient = Client::create(config.client);
  if (!rootsClient.ok()) return rootsClient.error();
  std::string waitArg = "wait=" + std::to_string(config.wait.count()) + "s&index=";
  auto shared = std::make_shared<Shared>();
  shared->config = std::move(config);
  shared->handlers = std::move(handlers);
  std::thread(follow<MeshLeaf>, shared, std::move(*leafClient), leafPath + "?" + waitArg,
              decodeMeshLeaf, leaf->first, nextBlockingIndex(0, leaf->second), "leaf",
              [](Shared& s, MeshLeaf l) {
                if (s.handlers.leaf) s.handlers.leaf(std::move(l));
              })
      .detach();
  std::thread(follow<MeshRoots>, shared, std::move(*rootsClient), rootsPath + "?" + waitArg,
              decodeMeshRoots, roots->first, nextBlockingIndex(0, roots->second), "roots",
              [](Shared& s, MeshRoots r) {
                if (s.handlers.roots) s.handlers.roots(std::move(r));
              })
      .detach();
  return std::unique_ptr<MeshWatch>(new MeshWatch(std::move(shared)));
}

MeshWatch::~MeshWatch() {
  shared_->stop([&] { shared_->handlers = {}; });
}

}  // namespace cairn::proxy
