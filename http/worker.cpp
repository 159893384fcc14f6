#include "http/worker.hpp"

namespace cairn::http {

Worker::Worker(size_t maxQueued) : maxQueued_(maxQueued), thread_([this] { loop(); }) {}

Worker::~Worker() {
  stop();
}

bool Worker::post(Job job) {
  std::lock_guard lock(mu_);
  if (stopping_ || queue_.size() >= maxQueued_) return false;
  queue_.push_back(std::move(job));
  cv_.notify_one();
  return true;
}

void Worker::stop() {
  std::deque<Job> cancelled;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cancelled.swap(queue_);
    cv_.notify_one();
  }
  for (auto& j : cancelled)
    if (j.cancel) j.cancel();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Worker::loop() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.run();
  }
}

}  // namespace cairn::http
