// Watches: blocking queries in a loop that deliver each new state of what a
// query covers exactly once. WatchPlan is the loop's logic with no I/O and no
// clock (Client::watch drives it), so its rules are tested directly:
//
// - The first answer is delivered; after that, an answer is delivered only
//   when its body differs from the last one delivered (a server may wake a
//   blocking query for changes that leave this answer as it was, and a
//   restarted server answers the same state again).
// - The next query blocks on the answer's X-Consul-Index. When the index
//   goes backwards (a server that lost its state, a restore, another server
//   behind a balancer) the plan starts again from index 0, as Consul's watch
//   does; an index of 0 is sent as 1 so the query still blocks.
// - No busy loop: a query that came back sooner than minInterval without a
//   change is followed by a pause up to minInterval after it started.
// - Errors back off exponentially from initialBackoff to maxBackoff; the
//   first success resets the back-off.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace cairn::client {

struct WatchOptions {
  // How long one blocking query may wait on the server.
  std::chrono::milliseconds wait{std::chrono::minutes(1)};
  std::chrono::milliseconds minInterval{100};
  std::chrono::milliseconds initialBackoff{200};
  std::chrono::milliseconds maxBackoff{std::chrono::seconds(10)};
  // Give up after this many failed queries in a row (0: never). With
  // `failFast`, the first query failing ends the watch at once (a wrong
  // address or a server that is down at start is a mistake, not an outage).
  int maxConsecutiveErrors = 0;
  bool failFast = false;
  // Checked before each query and during pauses; a query in flight is not
  // interrupted, so the watch ends within `wait` (plus margin) of a stop.
  const std::atomic<bool>* stop = nullptr;
  // Told about each failed query and the pause before the next one.
  std::function<void(const Error&, std::chrono::milliseconds retryIn)> onError;
};

// A new state: the body of the answer and its X-Consul-Index.
struct WatchEvent {
  std::uint64_t index = 0;
  std::string json;
};

// The handler returns false to end the watch.
using WatchHandler = std::function<bool(const WatchEvent&)>;

class WatchPlan {
 public:
  explicit WatchPlan(const WatchOptions& options);

  // The index the next query sends (0: not blocking, the first query).
  std::uint64_t nextIndex() const { return index_; }

  // An answer arrived after `elapsed`. Returns true if it is a new state to
  // deliver, and sets pause() to how long to wait before the next query.
  bool onAnswer(std::uint64_t index, std::string_view body, std::chrono::milliseconds elapsed);

  // A query failed. Returns false when the watch should give up (failFast
  // before any answer, or maxConsecutiveErrors reached), else sets pause()
  // to the back-off.
  bool onError();

  std::chrono::milliseconds pause() const { return pause_; }
  int consecutiveErrors() const { return errors_; }

 private:
  WatchOptions options_;
  std::uint64_t index_ = 0;
  std::optional<std::string> last_;  // the last body delivered
  std::chrono::milliseconds pause_{0};
  std::chrono::milliseconds backoff_{0};
  int errors_ = 0;
  bool answered_ = false;
};

}  // namespace cairn::client
