// Worker: one thread running submitted jobs in order. What the asynchronous
// client and resolver (async.hpp) run their blocking calls on, so that the
// caller's executor never blocks.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cairn::client {

class Worker {
 public:
  Worker();
  // Drops the jobs not started, waits for the one running.
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Thread-safe.
  void submit(std::function<void()> job);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace cairn::client
