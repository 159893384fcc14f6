// CaKeeper: the leader's upkeep of the mesh CA, on a thread of its own.
// About once a second, and only on the leader (or a one-server agent):
//  - no CA yet (the first leader of a fresh cluster, a -dev agent): make a
//    root and propose it, once every server applies command version 4;
//  - inactive roots rotated out longer than a leaf's life ago: propose
//    their removal.
// Proposals are compare-and-set on the CA's index (registry/connect.hpp),
// so a leader that loses its place cannot overwrite its successor's CA.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "registry/replicator.hpp"
#include "registry/watch.hpp"

namespace cairn::server {

class CaKeeper {
 public:
  CaKeeper(registry::WatchHub& hub, registry::Replicator& replicator, int64_t leafTtlSeconds);
  // Stops the thread; a proposal in flight finishes on its own.
  ~CaKeeper();

 private:
  void run();
  bool leading() const;
  void step();

  registry::WatchHub& hub_;
  registry::Replicator& replicator_;
  int64_t leafTtlSeconds_;
  // Shared with proposal callbacks, which may outlive this object.
  std::shared_ptr<std::atomic<bool>> inFlight_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cairn::server
