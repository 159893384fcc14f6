#include "proxy/intention_watch.hpp"

#include <thread>

#include "common/log.hpp"
#include "proxy/instances.hpp"
#include "proxy/watch_support.hpp"

namespace cairn::proxy {

struct IntentionWatch::Shared : WatchState {
  IntentionWatchConfig config;
  Publish publish;
};

namespace {

bool sameIntentions(const std::vector<registry::Intention>& a,
                    const std::vector<registry::Intention>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].id != b[i].id || a[i].sourceName != b[i].sourceName ||
        a[i].destinationName != b[i].destinationName || a[i].action != b[i].action)
      return false;
  return true;
}

// `checker` is a connection of its own for the default-policy probe (the
// blocking query's connection stays on its long poll).
void run(std::shared_ptr<IntentionWatch::Shared> s, std::unique_ptr<Client> client,
         std::unique_ptr<Client> checker) {
  auto log = log::get("proxy");
  const std::string& dst = s->config.destination;
  const std::string base =
      "/v1/connect/intentions?wait=" + std::to_string(s->config.wait.count()) + "s&index=";
  const std::string check =
      "/v1/connect/intentions/check?source=%2A&destination=" + percentEncode(dst);
  uint64_t index = 0;
  std::shared_ptr<const IntentionSet> last;
  RetryBackoff backoff(s->config.retryMin, s->config.retryMax);
  while (!s->isStopped()) {
    auto resp = client->request("GET", base + std::to_string(index));
    Result<std::vector<registry::Intention>> list =
        !resp.ok() ? Result<std::vector<registry::Intention>>(resp.error())
        : resp->status != 200
            ? Result<std::vector<registry::Intention>>(unavailable(
                  "status " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200)))
            : decodeIntentionsFor(resp->body, dst);
    Result<bool> defaultAllow =
        list.ok() ? decodeOk<bool>(checker->request("GET", check), &decodeCheckAllowed)
                  : Result<bool>(list.error());
    if (!defaultAllow.ok()) {
      if (s->isStopped()) return;
      auto pause = backoff.next();
      log->warn("intention watch failed destination={} error=\"{}\" retry_ms={}{}", dst,
                defaultAllow.error().message, pause.count(),
                last ? "" : " inbound=refused (no intentions yet)");
      if (!s->sleepFor(pause)) return;
      index = 0;  // the agent may have been replaced: start over
      continue;
    }
    backoff.reset();
    log->debug("intentions query destination={} sent_index={} index={} count={}", dst, index,
               resp->index, list->size());
    index = nextBlockingIndex(index, resp->index);
    if (last && last->defaultAllow == *defaultAllow && sameIntentions(last->intentions, *list))
      continue;
    auto set = std::make_shared<IntentionSet>();
    set->index = resp->index;
    set->intentions = std::move(*list);
    set->defaultAllow = *defaultAllow;
    log->info("intentions destination={} count={} default={} index={}", dst, set->intentions.size(),
              set->defaultAllow ? "allow" : "deny", set->index);
    last = set;
    if (!s->deliver([&] { s->publish(std::move(set)); })) return;
  }
}

}  // namespace

Result<std::unique_ptr<IntentionWatch>> IntentionWatch::create(IntentionWatchConfig config,
                                                               Publish publish) {
  if (config.destination.empty()) return invalidArgument("intentions: empty destination");
  if (config.wait.count() <= 0) return invalidArgument("wait: must be > 0");
  config.client.timeout = client::blockingTimeout(config.wait);
  auto client = Client::create(config.client);
  if (!client.ok()) return client.error();
  auto checker = Client::create(config.client);
  if (!checker.ok()) return checker.error();
  auto shared = std::make_shared<Shared>();
  shared->config = std::move(config);
  shared->publish = std::move(publish);
  std::thread(run, shared, std::move(*client), std::move(*checker)).detach();
  return std::unique_ptr<IntentionWatch>(new IntentionWatch(std::move(shared)));
}

IntentionWatch::~IntentionWatch() {
  shared_->stop([&] { shared_->publish = nullptr; });
}

}  // namespace cairn::proxy
