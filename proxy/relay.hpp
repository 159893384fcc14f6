// Relay: copies bytes both ways between two connected streams until both
// directions have ended. Internal to the proxy library (it brings in Asio);
// include from proxy/*.cpp only.
//
// Half-close is honoured: when one side ends its sending (EOF), the other
// side's sending half is shut (shutdownSend) and the reverse direction keeps
// flowing until it ends too. An error on either side, the idle timeout or
// abort() closes both at once. Lives on one io_context thread; owned by the
// shared_ptrs its handlers hold.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "proxy/tls_stream.hpp"

namespace cairn::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// What a stream type must offer besides Asio's async_read_some/write.
inline void shutdownSend(tcp::socket& s, const std::shared_ptr<void>& /*keep*/) {
  boost::system::error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
}
inline void closeStream(tcp::socket& s) {
  boost::system::error_code ec;
  s.close(ec);
}

// The non-template face of a relay, for the proxy's table of live ones.
class RelayHandle {
 public:
  virtual ~RelayHandle() = default;
  virtual void abort() = 0;
};

struct RelayCounters {
  uint64_t* bytesUp = nullptr;    // client -> server
  uint64_t* bytesDown = nullptr;  // server -> client
  uint64_t* idleTimeouts = nullptr;
};

struct RelayHooks {
  // Once: the time from the first byte sent to the server to the first byte
  // back (peak_ewma's latency sample).
  std::function<void(std::chrono::microseconds)> onFirstResponse;
  // Once, when both sides are closed.
  std::function<void()> onDone;
};

template <class ClientStream, class ServerStream>
class Relay : public RelayHandle,
              public std::enable_shared_from_this<Relay<ClientStream, ServerStream>> {
 public:
  static constexpr std::size_t kBufferSize = 64 * 1024;

  Relay(ClientStream client, ServerStream server, std::chrono::milliseconds idle,
        RelayCounters counters, RelayHooks hooks)
      : client_(std::move(client)),
        server_(std::move(server)),
        timer_(client_.get_executor()),
        idle_(idle),
        counters_(counters),
        hooks_(std::move(hooks)) {}

  void start() {
    touch();
    armIdle();
    pump(client_, server_, up_, true);
    pump(server_, client_, down_, false);
  }

  void abort() override {
    if (closed_) return;
    closed_ = true;
    closeStream(client_);
    closeStream(server_);
    timer_.cancel();
    if (hooks_.onDone) std::exchange(hooks_.onDone, nullptr)();
  }

 private:
  struct Direction {
    std::unique_ptr<char[]> buf{new char[kBufferSize]};
    bool done = false;
  };

  template <class From, class To>
  void pump(From& from, To& to, Direction& d, bool upstream) {
    from.async_read_some(asio::buffer(d.buf.get(), kBufferSize),
                         [self = this->shared_from_this(), &from, &to, &d, upstream](
                             boost::system::error_code ec, std::size_t n) {
                           if (self->closed_) return;
                           if (ec) {
                             if (ec != asio::error::eof) return self->abort();
                             shutdownSend(to, self);
                             d.done = true;
                             if (self->up_.done && self->down_.done) self->abort();
                             return;
                           }
                           self->touch();
                           if (upstream) {
                             if (!self->sentAt_) self->sentAt_ = std::chrono::steady_clock::now();
                             *self->counters_.bytesUp += n;
                           } else {
                             *self->counters_.bytesDown += n;
                             if (self->sentAt_ && self->hooks_.onFirstResponse) {
                               auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - *self->sentAt_);
                               std::exchange(self->hooks_.onFirstResponse, nullptr)(rtt);
                             }
                           }
                           asio::async_write(to, asio::buffer(d.buf.get(), n),
                                             [self, &from, &to, &d, upstream](
                                                 boost::system::error_code ec2, std::size_t) {
                                               if (self->closed_) return;
                                               if (ec2) return self->abort();
                                               self->pump(from, to, d, upstream);
                                             });
                         });
  }

  void touch() { last_ = std::chrono::steady_clock::now(); }

  void armIdle() {
    timer_.expires_at(last_ + idle_);
    timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed_) return;
      if (std::chrono::steady_clock::now() - self->last_ >= self->idle_) {
        ++*self->counters_.idleTimeouts;
        return self->abort();
      }
      self->armIdle();
    });
  }

  ClientStream client_;
  ServerStream server_;
  asio::steady_timer timer_;
  std::chrono::milliseconds idle_;
  RelayCounters counters_;
  RelayHooks hooks_;
  Direction up_, down_;
  std::chrono::steady_clock::time_point last_;
  std::optional<std::chrono::steady_clock::time_point> sentAt_;
  bool closed_ = false;
};

}  // namespace cairn::proxy
