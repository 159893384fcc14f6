#include "server/send_queue.hpp"

namespace cairn::server {

void SendQueue::push(std::string frame, Clock::time_point now) {
  bytes_ += frame.size();
  frames_.push_back({std::move(frame), now});
  while (frames_.size() > 1 && (frames_.size() > limits_.maxFrames || bytes_ > limits_.maxBytes))
    dropFront();
  dropStale(now);
}

std::string SendQueue::takeBatch(size_t maxBatchBytes, Clock::time_point now) {
  dropStale(now);
  std::string batch;
  while (!frames_.empty() &&
         (batch.empty() || batch.size() + frames_.front().bytes.size() <= maxBatchBytes)) {
    bytes_ -= frames_.front().bytes.size();
    batch += frames_.front().bytes;
    frames_.pop_front();
  }
  return batch;
}

void SendQueue::dropFront() {
  bytes_ -= frames_.front().bytes.size();
  frames_.pop_front();
  ++dropped_;
}

void SendQueue::dropStale(Clock::time_point now) {
  while (!frames_.empty() && now - frames_.front().queuedAt > limits_.maxAge) dropFront();
}

}  // namespace cairn::server
