// MeshWatch: follows the proxy's leaf certificate and the CA roots on the
// agent with blocking queries (GET /v1/agent/connect/ca/leaf/<service> and
// /v1/agent/connect/ca/roots with ?index=), one thread each, and hands every
// new leaf or roots list to a callback. The agent answers a blocking leaf
// query early when the leaf is due for renewal (half its life) or the active
// root changed, so following it is what renews the leaf before it expires.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client/client.hpp"
#include "common/result.hpp"
#include "proxy/mesh_identity.hpp"

namespace cairn::proxy {

struct MeshWatchConfig {
  client::ClientConfig client;  // the agent's HTTP address and token
  std::string service;          // whose leaf
  std::chrono::seconds wait{60};
  // How long create() waits for the first leaf and roots.
  std::chrono::milliseconds startupWait{30000};
  // After a failed query: min, doubling up to max, with up to 50% jitter.
  std::chrono::milliseconds retryMin{250};
  std::chrono::milliseconds retryMax{5000};
};

class MeshWatch {
 public:
  struct Handlers {
    // Called on the watch's threads (one for each) with every leaf or roots
    // list that differs from the last one; never after the destructor.
    std::function<void(MeshLeaf)> leaf;
    std::function<void(MeshRoots)> roots;
    // A failed query (the last leaf and roots stay in force).
    std::function<void(const std::string& what, const Error&)> failure;
  };

  // Fetches the first leaf and roots on the calling thread, retrying until
  // both arrived or config.startupWait passed (then fails, saying which and
  // the agent's last answer), returns them in `firstLeaf`/`firstRoots`, and
  // only then starts following them.
  static Result<std::unique_ptr<MeshWatch>> create(MeshWatchConfig config, Handlers handlers,
                                                   MeshLeaf& firstLeaf, MeshRoots& firstRoots);
  // Stops publishing at once; the threads end when their query returns.
  ~MeshWatch();
  MeshWatch(const MeshWatch&) = delete;
  MeshWatch& operator=(const MeshWatch&) = delete;

  struct Shared;

 private:
  explicit MeshWatch(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

}  // namespace cairn::proxy
