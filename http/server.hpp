// HttpServer: accepts HTTP/1.1 connections and runs each request through a
// Handler. Owns its io_context and worker threads (Beast stays in server.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/tls.hpp"
#include "http/types.hpp"

namespace cairn::http {

struct ServerConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 8500;  // 0 picks a free port
  int threads = 1;
  size_t maxBodyBytes = 1 << 20;
  // PUT /v1/snapshot (a restore) may carry this much instead: a snapshot is
  // the whole catalog, compressed (about 36 bytes per instance with a check).
  size_t maxSnapshotBodyBytes = size_t{256} << 20;
  size_t maxHeaderBytes = 16 << 10;
  // A request must arrive whole within this time once it has started, or it
  // gets 408; an idle keep-alive connection is closed after idleTimeout.
  std::chrono::milliseconds readTimeout{10'000};
  std::chrono::milliseconds idleTimeout{75'000};
  // Bounds the upload of a snapshot body, and the write of any response
  // larger than 1 MiB, instead of readTimeout.
  std::chrono::milliseconds transferTimeout{5 * 60'000};
  size_t maxConnections = 10'000;
  // HTTPS: every connection is TLS with this server certificate (role
  // kServer; verifyPeer demands client certificates signed by caFile).
  std::optional<tls::TlsConfig> tls;
};

class HttpServer {
 public:
  // Binds and starts serving at once. `handler` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> create(const ServerConfig& cfg, Handler& handler);
  virtual ~HttpServer() = default;

  virtual uint16_t port() const = 0;
  // Stops accepting, closes connections and joins the threads. Idempotent.
  virtual void stop() = 0;
  virtual size_t openConnections() const = 0;
  // Closes the listening socket; open connections keep being served.
  virtual void stopAccepting() = 0;
  // Waits until no write is in flight (proposed, not yet answered), at most
  // `limit`. Returns false on timeout.
  virtual bool waitForWrites(std::chrono::milliseconds limit) = 0;
  // Reads the certificate, key and CA files again (SIGHUP). New connections
  // use them; open ones keep theirs. On error the old ones stay in use.
  virtual Status reloadTls() = 0;
};

}  // namespace cairn::http
