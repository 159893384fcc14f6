// OwnNodeKeeper: keeps this server's own node in the catalog, as Consul's
// anti-entropy does for its agent. The node (with its serfHealth check) and
// the config file's services and checks are registered once the cluster
// takes writes; after that, whenever the node is missing from this server's
// view of the catalog, or is some other server's (another node ID or
// address under our name) — a snapshot restore replaced the catalog, or an
// operator deregistered it — they are registered again.
//
// Besides the node, the keeper can keep more of this server's own (the
// services and checks registered through its agent API, agent_local.hpp):
// Options::intact says whether the view holds them, Options::repair writes
// what is missing, after the node's registration when that was needed too.
//
// Steady state costs no Raft write: the view is read (a pointer load and a
// lookup) every `pollInterval`, and a registration is proposed only when
// something is missing. Repairs that follow each other within a minute back
// off (1 s doubling to 1 min), so two servers that share a node name cannot
// write back and forth at full speed.
//
// Threading: owns one thread, which calls `registerAll` (a blocking
// proposal). stop() is quick; the destructor joins, so the replicator that
// `registerAll` uses must be shut down (failing any proposal in flight)
// between stop() and destruction, or outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "registry/view.hpp"
#include "registry/watch.hpp"

namespace cairn::server {

struct OwnNode {
  std::string name;
  std::string id;
  std::string address;
};

// The check every server registers on its own node (Consul's name).
inline constexpr std::string_view kOwnNodeCheckId = "serfHealth";

// True when `v` holds `self`: its name, with its node ID and address, and
// its serfHealth check.
bool ownNodeIntact(const registry::View& v, const OwnNode& self);

class OwnNodeKeeper {
 public:
  struct Options {
    std::chrono::milliseconds pollInterval{500};
    // True when the first registration is done already (a one-server agent
    // registers before it serves).
    bool registered = false;
    // More that must hold (both or neither set). Called on the keeper's
    // thread; `repair` blocks until its writes are applied or failed.
    std::function<bool(const registry::View&)> intact;
    std::function<Status()> repair;
  };

  OwnNodeKeeper(registry::WatchHub& hub, OwnNode self, std::function<Status()> registerAll,
                Options opts);
  ~OwnNodeKeeper();
  OwnNodeKeeper(const OwnNodeKeeper&) = delete;
  OwnNodeKeeper& operator=(const OwnNodeKeeper&) = delete;

  void stop();
  // Registrations proposed after the first one (for tests and logs).
  uint64_t repairs() const { return repairs_.load(); }

 private:
  void run();
  bool allIntact(const registry::View& v) const;
  // Sleeps for `d` or until stop(); false once stopped.
  bool pause(std::chrono::steady_clock::duration d);

  registry::WatchHub& hub_;
  const OwnNode self_;
  const std::function<Status()> registerAll_;
  const Options opts_;
  std::atomic<uint64_t> repairs_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cairn::server
