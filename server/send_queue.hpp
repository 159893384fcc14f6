// SendQueue: the frames waiting to go out on one outbound peer connection.
// Pure: no I/O and no clock (callers pass the time).
//
// A peer that is dead, or alive but silent (a stopped process, a partition
// that drops packets, while its connection stays open), stops taking bytes,
// and frames pile up. They are Raft messages and soft-state reports, all of
// which may be lost: a heartbeat or an append is worthless once a newer one
// exists or the term has moved on, and Raft resends what matters. So the
// queue is bounded three ways, dropping its oldest frames first: a count, a
// byte total, and an age (frames older than maxAge are dropped instead of
// sent), so memory stays bounded and a peer that comes back gets fresh frames,
// not minutes of stale ones.
//
// Threading: none; the transport uses it on its I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace cairn::server {

class SendQueue {
 public:
  using Clock = std::chrono::steady_clock;
  struct Limits {
    size_t maxFrames = 4096;
    size_t maxBytes = 128u << 20;  // the newest frame is kept even when larger
    std::chrono::milliseconds maxAge{2000};
  };

  explicit SendQueue(Limits limits) : limits_(limits) {}

  // Queues a frame, then drops the oldest frames that exceed the limits.
  void push(std::string frame, Clock::time_point now);
  // Takes the frames to write next, oldest first, concatenated: at least one
  // frame when any is left, and more while the batch stays under maxBatchBytes.
  // Frames older than maxAge are dropped, not taken. Empty when nothing is left.
  std::string takeBatch(size_t maxBatchBytes, Clock::time_point now);

  bool empty() const { return frames_.empty(); }
  size_t size() const { return frames_.size(); }
  size_t bytes() const { return bytes_; }
  // Frames dropped since construction (overflow or age).
  uint64_t dropped() const { return dropped_; }

 private:
  struct Frame {
    std::string bytes;
    Clock::time_point queuedAt;
  };
  void dropFront();
  void dropStale(Clock::time_point now);

  Limits limits_;
  std::deque<Frame> frames_;
  size_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace cairn::server
