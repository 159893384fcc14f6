// What the proxy's registry watches have in common (upstream instances,
// intentions, the mesh's leaf and roots): the state a watch thread shares
// with the object that owns it, the retry back-off between failed queries,
// and small helpers for the queries themselves. Internal to the proxy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "client/client.hpp"
#include "common/result.hpp"

namespace cairn::proxy {

// Shared by a detached watch thread and its owner. The owner's destructor
// calls stop(); the thread checks isStopped(), sleeps with sleepFor() (cut
// short by stop()) and hands results over with deliver(), which runs under
// the lock, so stop() waits until a delivery in progress has returned and
// none runs after it.
class WatchState {
 public:
  // False when stopped (at once or during the sleep).
  bool sleepFor(std::chrono::milliseconds d);
  bool isStopped();
  // Runs `f` unless stopped; false when stopped.
  template <class F>
  bool deliver(F&& f) {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    f();
    return true;
  }
  // Stops the thread; `clear` runs under the lock (drops the handlers).
  template <class F>
  void stop(F&& clear) {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      clear();
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
};

// Exponential back-off between failed queries, with up to 50 % jitter.
class RetryBackoff {
 public:
  RetryBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
      : min_(min), max_(max), current_(min) {}
  // The pause before the next try (grows for the one after).
  std::chrono::milliseconds next();
  std::chrono::milliseconds current() const { return current_; }
  void reset() { current_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, current_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// For a path segment or query value: unreserved characters kept, the rest
// %XX.
std::string percentEncode(std::string_view s);

// A 200 answer's body, decoded; otherwise the transport's error or one that
// names the status and the start of the body.
template <class T>
Result<T> decodeOk(const Result<client::Response>& resp, Result<T> (*decode)(std::string_view)) {
  if (!resp.ok()) return resp.error();
  if (resp->status != 200)
    return unavailable("status " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200));
  return decode(resp->body);
}

}  // namespace cairn::proxy
