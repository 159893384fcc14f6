#include "proxy/upstream_watch.hpp"

#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "common/log.hpp"
#include "proxy/instances.hpp"

namespace cairn::proxy {

struct UpstreamWatch::Shared {
  UpstreamWatchConfig config;
  Publish publish;
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;

  bool sleepFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, d, [&] { return stopped; });
  }
  // Publishes unless stopped; the lock keeps the destructor waiting until a
  // publish in progress has returned.
  bool deliver(std::vector<Instance> list) {
    std::lock_guard lock(mu);
    if (stopped) return false;
    publish(std::move(list));
    return true;
  }
  bool isStopped() {
    std::lock_guard lock(mu);
    return stopped;
  }
};

namespace {

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void run(std::shared_ptr<UpstreamWatch::Shared> s, std::unique_ptr<Client> client) {
  auto log = log::get("proxy");
  std::mt19937_64 rng(std::random_device{}());
  const std::string base =
      std::string(s->config.connect ? "/v1/health/connect/" : "/v1/health/service/") +
      percentEncode(s->config.service) + "?passing&wait=" + std::to_string(s->config.wait.count()) +
      "s&index=";
  uint64_t index = 0;
  bool published = false;
  std::vector<Instance> last;
  auto backoff = s->config.retryMin;
  while (!s->isStopped()) {
    auto resp = client->request("GET", base + std::to_string(index));
    Result<std::vector<Instance>> list =
        !resp.ok() ? Result<std::vector<Instance>>(resp.error())
        : resp->status != 200
            ? Result<std::vector<Instance>>(unavailable("status " + std::to_string(resp->status) +
                                                        ": " + resp->body.substr(0, 200)))
            : decodeHealthInstances(resp->body);
    if (!list.ok()) {
      if (s->isStopped()) return;
      log->warn("upstream watch failed service={} error=\"{}\" retry_ms={}", s->config.service,
                list.error().message, backoff.count());
      auto jitter = std::chrono::milliseconds(
          std::uniform_int_distribution<int64_t>(0, backoff.count() / 2)(rng));
      if (!s->sleepFor(backoff + jitter)) return;
      backoff = std::min(backoff * 2, s->config.retryMax);
      index = 0;  // the agent may have been replaced: start over
      continue;
    }
    backoff = s->config.retryMin;
    index = nextBlockingIndex(index, resp->index);
    if (!published || *list != last) {
      log->info("upstream instances service={} count={} index={}", s->config.service, list->size(),
                resp->index);
      last = *list;
      published = true;
      if (!s->deliver(std::move(*list))) return;
    }
  }
}

}  // namespace

Result<std::unique_ptr<UpstreamWatch>> UpstreamWatch::create(UpstreamWatchConfig config,
                                                             Publish publish) {
  if (config.service.empty()) return invalidArgument("upstream: empty service name");
  if (config.wait.count() <= 0) return invalidArgument("wait: must be > 0");
  // The server may hold a query for wait + wait/16 of jitter.
  config.client.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      config.wait + config.wait / 8 + std::chrono::seconds(5));
  auto client = Client::create(config.client);
  if (!client.ok()) return client.error();
  auto shared = std::make_shared<Shared>();
  shared->config = std::move(config);
  shared->publish = std::move(publish);
  std::thread(run, shared, std::move(*client)).detach();
  return std::unique_ptr<UpstreamWatch>(new UpstreamWatch(std::move(shared)));
}

UpstreamWatch::~UpstreamWatch() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopped = true;
    shared_->publish = nullptr;
  }
  shared_->cv.notify_all();
}

}  // namespace cairn::proxy
