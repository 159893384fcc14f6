// Transport: server-to-server TCP. One outbound connection per peer address
// (it sends), inbound connections receive. Frames are length-prefixed,
// bounded and validated; a bad frame closes that connection only.
// Connections reconnect with backoff. Raft tolerates the loss of any
// message, so a full send queue drops rather than blocks.
//
// Threading: owns one I/O thread. send()/connect() may be called from any
// thread; the Handler is called on the I/O thread and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "server/raft_codec.hpp"

namespace cairn::server {

class Transport {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void onHello(const PeerHello& hello) = 0;
    virtual void onMessage(raft::Message m) = 0;
  };

  struct Config {
    std::string bindAddress = "127.0.0.1";
    uint16_t port = 0;
    size_t maxQueuedFrames = 4096;
  };

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
  virtual void stop() = 0;
};

}  // namespace cairn::server
