// LoadReporter: tells the agent the local instance's load (the proxy's
// active inbound connections) with PUT /v1/agent/service/load/<id> every
// interval, on a thread of its own, so that least-loaded ordering in DNS and
// /v1/health/service sees it. The reports carry a TTL of three intervals
// (at least 5 s): a proxy that dies stops counting soon.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "client/client.hpp"

namespace cairn::proxy {

class LoadReporter {
 public:
  // `load` is read (relaxed) on the reporter's thread; it must outlive the
  // reporter.
  static Result<std::unique_ptr<LoadReporter>> create(client::ClientConfig client,
                                                      std::string serviceId,
                                                      std::chrono::milliseconds interval,
                                                      const std::atomic<uint64_t>* load);
  // Stops and joins (a report in flight is bounded by the client timeout).
  ~LoadReporter();
  LoadReporter(const LoadReporter&) = delete;
  LoadReporter& operator=(const LoadReporter&) = delete;

 private:
  LoadReporter() = default;
  void run();

  std::unique_ptr<Client> client_;
  std::string path_;
  std::chrono::milliseconds interval_{};
  std::string ttl_;
  const std::atomic<uint64_t>* load_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cairn::proxy
