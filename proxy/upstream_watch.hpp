// UpstreamWatch: follows the healthy instances of one service in the
// registry with blocking queries (GET /v1/health/service/<name>?passing, or
// /v1/health/connect/<name>?passing in mesh mode) on
// a thread of its own, and hands each new list to a callback.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.hpp"
#include "common/result.hpp"
#include "proxy/balancer.hpp"

namespace cairn::proxy {

struct UpstreamWatchConfig {
  client::ClientConfig client;  // the agent's HTTP address; timeouts are set from `wait`
  std::string service;
  // Mesh mode: the service's proxies and native instances
  // (/v1/health/connect/<name>) instead of its instances.
  bool connect = false;
  std::chrono::seconds wait{30};  // the blocking query's wait
  // After a failed query: min, doubling up to max, with up to 50% jitter.
  std::chrono::milliseconds retryMin{250};
  std::chrono::milliseconds retryMax{10000};
};

class UpstreamWatch {
 public:
  // Called on the watch's thread with every list that differs from the last
  // one published (the first answer is always published, even when empty).
  // On errors the last list stays in force: a registry outage does not take
  // the upstream away. Never called once the destructor has returned.
  using Publish = std::function<void(std::vector<Instance>)>;

  static Result<std::unique_ptr<UpstreamWatch>> create(UpstreamWatchConfig config, Publish publish);
  // Stops publishing at once. The thread may still be inside a blocking
  // query (up to `wait`); it is detached and ends when that query returns,
  // touching only state it shares ownership of.
  ~UpstreamWatch();
  UpstreamWatch(const UpstreamWatch&) = delete;
  UpstreamWatch& operator=(const UpstreamWatch&) = delete;

  struct Shared;

 private:
  explicit UpstreamWatch(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace cairn::proxy
