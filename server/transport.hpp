// Transport: server-to-server TCP. One outbound connection per peer address
// (it sends), inbound connections receive. Frames are length-prefixed,
// bounded and validated; a bad frame closes that connection only.
// Connections reconnect with backoff. Raft tolerates the loss of any
// message, so a full send queue drops rather than blocks, and a frame that
// waited longer than maxFrameAge for a peer that is down or not reading (a
// stopped process, a partition) is dropped rather than sent late: the queue
// of a dead or silent peer stays bounded in memory and in staleness.
//
// With `tls` set, every connection is mutual TLS (1.2 or later): each side
// presents its certificate and verifies the peer's against the configured
// CA before any frame is read or written. A peer speaking plain TCP, without
// a certificate, or with one from another CA is refused: the connection is
// closed and a warning names the peer's address and the reason (at most once
// a minute per peer and reason).
//
// Threading: owns one I/O thread. send()/connect() may be called from any
// thread; the Handler is called on the I/O thread and must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "common/tls.hpp"
#include "server/raft_codec.hpp"

namespace cairn::server {

class Transport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void onHello(const PeerHello& hello) = 0;
    virtual void onMessage(raft::Message m) = 0;
    virtual void onLoads(LoadReports reports) { (void)reports; }
    virtual void onTtls(TtlReports reports) { (void)reports; }
    // The outbound connection to `address` (as given to connect()/send())
    // was established (up), or was lost after being established (down):
    // frames sent to `address` before a down may not have arrived, and the
    // ones sent until the next up wait in the queue. Ups and downs of one
    // address alternate, starting with an up.
    virtual void onLink(const std::string& address, bool up) {
      (void)address;
      (void)up;
    }
  };

  struct Config {
    std::string bindAddress = "127.0.0.1";
    uint16_t port = 0;
    // Per peer; the oldest frames are dropped past these (see SendQueue).
    size_t maxQueuedFrames = 4096;
    // Above a Raft in-flight window of appends (64 of 1 MiB), so a healthy
    // pipeline never reaches it: a backstop for memory.
    size_t maxQueuedBytes = 128u << 20;
    std::chrono::milliseconds maxFrameAge{2000};
    // Mutual TLS on every connection when set (its role is forced to kBoth
    // and verifyPeer to true). Unset: plain TCP.
    std::optional<tls::TlsConfig> tls = std::nullopt;
    // A connection whose TLS handshake has not finished by then is closed.
    std::chrono::milliseconds handshakeTimeout{5000};
  };

  // Counters since create(); readable from any thread.
  struct Stats {
    uint64_t inboundAccepted = 0;  // inbound connections taken (with TLS: handshake done)
    uint64_t inboundRefused = 0;   // not TLS, no or bad certificate, handshake timed out
    uint64_t outboundRefused = 0;  // outbound TLS handshakes that failed or that the peer refused
  };

  // Fails (naming the file) when the TLS files cannot be loaded or do not fit
  // together, or when the port cannot be bound.
  static Result<std::unique_ptr<Transport>> create(const Config& cfg, Handler& handler);
  virtual ~Transport() = default;

  virtual uint16_t port() const = 0;
  // The hello sent first on every outbound connection (and re-sent when it
  // changes, e.g. once the cluster ID is known).
  virtual void setHello(const PeerHello& hello) = 0;
  // Keeps an outbound connection to `address` ("ip:port").
  virtual void connect(const std::string& address) = 0;
  // Sends to the peer at `address` (connecting if needed).
  virtual void send(const std::string& address, const raft::Message& m) = 0;
  virtual void sendLoads(const std::string& address, const LoadReports& reports) = 0;
  virtual void sendTtls(const std::string& address, const TtlReports& reports) = 0;
  virtual Stats stats() const = 0;
  virtual void stop() = 0;
};

}  // namespace cairn::server
