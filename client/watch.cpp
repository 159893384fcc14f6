#include "client/watch.hpp"

#include <algorithm>

namespace cairn::client {

WatchPlan::WatchPlan(const WatchOptions& options) : options_(options) {
  options_.initialBackoff = std::max(options_.initialBackoff, std::chrono::milliseconds(1));
  options_.maxBackoff = std::max(options_.maxBackoff, options_.initialBackoff);
}

bool WatchPlan::onAnswer(std::uint64_t index, std::string_view body,
                         std::chrono::milliseconds elapsed) {
  answered_ = true;
  errors_ = 0;
  backoff_ = std::chrono::milliseconds(0);
  bool changed = !last_ || *last_ != body;
  if (changed) last_ = std::string(body);
  if (index < index_) {
    index_ = 0;  // went backwards: start over (the next query returns at once)
  } else {
    index_ = std::max<std::uint64_t>(index, 1);
  }
  pause_ = std::chrono::milliseconds(0);
  if (!changed && elapsed < options_.minInterval) pause_ = options_.minInterval - elapsed;
  return changed;
}

bool WatchPlan::onError() {
  ++errors_;
  if (options_.failFast && !answered_) return false;
  if (options_.maxConsecutiveErrors > 0 && errors_ >= options_.maxConsecutiveErrors) return false;
  backoff_ =
      backoff_.count() == 0 ? options_.initialBackoff : std::min(backoff_ * 2, options_.maxBackoff);
  pause_ = backoff_;
  return true;
}

}  // namespace cairn::client
