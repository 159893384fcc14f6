#include "proxy/upstream_watch.hpp"

#include <thread>

#include "common/log.hpp"
#include "proxy/instances.hpp"
#include "proxy/watch_support.hpp"

namespace cairn::proxy {

struct UpstreamWatch::Shared : WatchState {
  UpstreamWatchConfig config;
  Publish publish;
};

namespace {

void run(std::shared_ptr<UpstreamWatch::Shared> s, std::unique_ptr<Client> client) {
  auto log = log::get("proxy");
  const std::string base =
      std::string(s->config.connect ? "/v1/health/connect/" : "/v1/health/service/") +
      percentEncode(s->config.service) + "?passing&wait=" + std::to_string(s->config.wait.count()) +
      "s&index=";
  uint64_t index = 0;
  bool published = false;
  std::vector<Instance> last;
  RetryBackoff backoff(s->config.retryMin, s->config.retryMax);
  while (!s->isStopped()) {
    auto resp = client->request("GET", base + std::to_string(index));
    auto list = decodeOk<std::vector<Instance>>(resp, &decodeHealthInstances);
    if (!list.ok()) {
      if (s->isStopped()) return;
      auto pause = backoff.next();
      log->warn("upstream watch failed service={} error=\"{}\" retry_ms={}", s->config.service,
                list.error().message, pause.count());
      if (!s->sleepFor(pause)) return;
      index = 0;  // the agent may have been replaced: start over
      continue;
    }
    backoff.reset();
    index = nextBlockingIndex(index, resp->index);
    if (!published || *list != last) {
      log->info("upstream instances service={} count={} index={}", s->config.service, list->size(),
                resp->index);
      last = *list;
      published = true;
      if (!s->deliver([&] { s->publish(std::move(*list)); })) return;
    }
  }
}

}  // namespace

Result<std::unique_ptr<UpstreamWatch>> UpstreamWatch::create(UpstreamWatchConfig config,
                                                             Publish publish) {
  if (config.service.empty()) return invalidArgument("upstream: empty service name");
  if (config.wait.count() <= 0) return invalidArgument("wait: must be > 0");
  config.client.timeout = client::blockingTimeout(config.wait);
  auto client = Client::create(config.client);
  if (!client.ok()) return client.error();
  auto shared = std::make_shared<Shared>();
  shared->config = std::move(config);
  shared->publish = std::move(publish);
  std::thread(run, shared, std::move(*client)).detach();
  return std::unique_ptr<UpstreamWatch>(new UpstreamWatch(std::move(shared)));
}

UpstreamWatch::~UpstreamWatch() {
  shared_->stop([&] { shared_->publish = nullptr; });
}

}  // namespace cairn::proxy
