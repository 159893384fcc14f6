#include "proxy/watch_support.hpp"

#include <algorithm>
#include <cctype>

namespace cairn::proxy {

bool WatchState::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopped_; });
}

bool WatchState::isStopped() {
  std::lock_guard lock(mu_);
  return stopped_;
}

std::chrono::milliseconds RetryBackoff::next() {
  auto jitter = std::chrono::milliseconds(
      std::uniform_int_distribution<int64_t>(0, current_.count() / 2)(rng_));
  auto pause = current_ + jitter;
  current_ = std::min(current_ * 2, max_);
  return pause;
}

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

}  // namespace cairn::proxy
