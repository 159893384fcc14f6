// MeshTls: the proxy's TLS context built from the mesh's leaf and roots, and
// swapped whenever either changes. Internal to the proxy library (Asio and
// OpenSSL types); include from proxy/*.cpp only.
//
// A swap only affects new connections: an established stream's SSL object
// holds a reference to the SSL_CTX it was made from.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "proxy/mesh_identity.hpp"
#include "proxy/mesh_watch.hpp"

namespace cairn::proxy {

// A TLS 1.3 context that presents `leaf` (with the active root's
// intermediates after it), requires a peer certificate and trusts every root
// in `roots`. Fails when the leaf and key do not match or the leaf does not
// chain to the roots (a leaf of a new root that arrived before the roots
// list naming that root).
Result<std::shared_ptr<boost::asio::ssl::context>> makeMeshContext(const MeshLeaf& leaf,
                                                                   const MeshRoots& roots);

class MeshTls {
 public:
  using Install = std::function<void(std::shared_ptr<boost::asio::ssl::context>)>;

  // Fetches the first leaf and roots (bounded by config.startupWait), calls
  // `install` with their context before returning, then follows them and
  // calls `install` on `io`'s thread with every new context. Fails with a
  // message that says what is missing.
  static Result<std::unique_ptr<MeshTls>> create(boost::asio::io_context& io,
                                                 MeshWatchConfig config, Install install);

  // The SPIFFE ID the proxies of `upstream` must present. io thread only.
  std::string upstreamId(const std::string& upstream) const;
  // Prometheus lines (with their TYPE headers). io thread only.
  std::string renderMetrics() const;

 private:
  MeshTls(boost::asio::io_context& io, Install install) : io_(io), install_(std::move(install)) {}
  // io thread: rebuilds the context from leaf_ and roots_.
  void rebuild(const char* why);

  boost::asio::io_context& io_;
  Install install_;
  std::unique_ptr<MeshWatch> watch_;
  MeshLeaf leaf_;        // the latest from the agent
  MeshRoots roots_;      // the latest from the agent
  MeshLeaf activeLeaf_;  // the one in the installed context
  uint64_t leafRotations_ = 0;
  uint64_t rootsChanges_ = 0;
  uint64_t fetchFailures_ = 0;
  uint64_t contextFailures_ = 0;
};

}  // namespace cairn::proxy
