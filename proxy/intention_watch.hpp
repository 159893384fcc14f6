// IntentionWatch: follows the registry's intentions for one destination
// service with blocking queries (GET /v1/connect/intentions?index=) on a
// thread of its own, and hands each new IntentionSet to a callback.
//
// The agent's default policy (connect.default_intention_policy) is not in
// the list; after each new list the watch asks
// /v1/connect/intentions/check?source=*&destination=<service>. A source of
// "*" matches only the intentions whose source is "*", so the answer is the
// decision for every source no exact intention names: the default when no
// "*" intention applies, and otherwise the "*" one, which then decides
// locally anyway.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client/client.hpp"
#include "common/result.hpp"
#include "proxy/authorizer.hpp"

namespace cairn::proxy {

struct IntentionWatchConfig {
  client::ClientConfig client;  // the agent's HTTP address; timeouts are set from `wait`
  std::string destination;
  // The blocking query's wait (the agent answers at once on a change; an
  // answer after `wait` with nothing new costs one request).
  std::chrono::seconds wait{60};
  // After a failed query: min, doubling up to max, with up to 50% jitter.
  std::chrono::milliseconds retryMin{250};
  std::chrono::milliseconds retryMax{5000};
};

class IntentionWatch {
 public:
  // Called on the watch's thread with every set that differs from the last
  // one published (intentions or default). On errors the last set stays in
  // force. Never called once the destructor has returned.
  using Publish = std::function<void(std::shared_ptr<const IntentionSet>)>;

  static Result<std::unique_ptr<IntentionWatch>> create(IntentionWatchConfig config,
                                                        Publish publish);
  // Stops publishing at once; the detached thread ends when its query returns.
  ~IntentionWatch();
  IntentionWatch(const IntentionWatch&) = delete;
  IntentionWatch& operator=(const IntentionWatch&) = delete;

  struct Shared;

 private:
  explicit IntentionWatch(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace cairn::proxy
