// Worker: one thread for request work too slow for an I/O thread or for the
// replicator's thread: building, checking and decoding catalog snapshots
// (seconds for a large catalog). Jobs run one at a time, in order.
//
// Threading: post() and stop() from any thread; jobs run on the worker's own
// thread, which lives from construction until stop().
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cairn::http {

class Worker {
 public:
  struct Job {
    std::function<void()> run;
    // Called instead of run when the worker stops before the job started.
    std::function<void()> cancel;
  };

  explicit Worker(size_t maxQueued);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Queues the job. False, and neither run nor cancel is ever called, when
  // maxQueued jobs already wait or the worker has stopped.
  bool post(Job job);

  // Cancels the jobs still waiting, waits for the running one and joins the
  // thread. Idempotent.
  void stop();

 private:
  void loop();

  size_t maxQueued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn::http
