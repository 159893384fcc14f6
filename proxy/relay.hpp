// Relay: copies bytes both ways between two connected streams until both
// directions have ended. Internal to the proxy library (it brings in Asio);
// include from proxy/*.cpp only.
//
// Half-close is honoured: when one side ends its sending (EOF), the other
// side's sending half is shut (shutdownSend) and the reverse direction keeps
// flowing until it ends too. An error on either side, the idle timeout or
// abort() closes both at once. Lives on one io_context thread; owned by the
// shared_ptrs its handlers hold.
//
// Between two plain TCP sockets, a direction that fills its whole buffer in
// one read (a bulk transfer) switches to splice(2) through a pipe: the bytes
// then move inside the kernel without being copied to user space and back.
// Small request/response traffic stays on the copy path, where splice would
// cost a readiness wait (an epoll re-arm) per read for nothing.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

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
  uint64_t* bytesSpliced = nullptr;  // also counted in bytesUp/bytesDown
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
  static constexpr bool kBothPlain =
      std::is_same_v<ClientStream, tcp::socket> && std::is_same_v<ServerStream, tcp::socket>;

  struct Direction {
    std::unique_ptr<char[]> buf{new char[kBufferSize]};
    bool done = false;
    int pipe[2] = {-1, -1};  // open: this direction splices
    std::size_t inPipe = 0;  // bytes in the pipe not yet sent on
    Direction() = default;
    Direction(const Direction&) = delete;
    Direction& operator=(const Direction&) = delete;
    ~Direction() {
      for (int fd : pipe)
        if (fd >= 0) ::close(fd);
    }
  };

  // A read that filled the buffer: from now on splice, if a pipe can be had
  // (else go on copying).
  bool startSplicing(Direction& d, tcp::socket& from, tcp::socket& to) {
    if (::pipe2(d.pipe, O_NONBLOCK | O_CLOEXEC) != 0) return false;
    boost::system::error_code ec;
    from.non_blocking(true, ec);
    to.non_blocking(true, ec);
    return true;
  }

  // Moves bytes from -> pipe -> to until one side would block (then waits
  // for it), the source ends, or a turn's bound (then yields to the others).
  void splicePump(tcp::socket& from, tcp::socket& to, Direction& d, bool upstream) {
    auto again = [self = this->shared_from_this(), &from, &to, &d,
                  upstream](boost::system::error_code ec) {
      if (self->closed_) return;
      if (ec) return self->abort();
      self->splicePump(from, to, d, upstream);
    };
    for (int turn = 0; turn < 16; ++turn) {
      if (d.inPipe == 0) {
        ssize_t n = ::splice(from.native_handle(), nullptr, d.pipe[1], nullptr, kBufferSize,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0) return ended(to, d);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN) return from.async_wait(tcp::socket::wait_read, again);
          return abort();
        }
        d.inPipe = static_cast<std::size_t>(n);
        touch();
        *(upstream ? counters_.bytesUp : counters_.bytesDown) += d.inPipe;
        if (counters_.bytesSpliced) *counters_.bytesSpliced += d.inPipe;
      }
      ssize_t m = ::splice(d.pipe[0], nullptr, to.native_handle(), nullptr, d.inPipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return to.async_wait(tcp::socket::wait_write, again);
        return abort();
      }
      d.inPipe -= static_cast<std::size_t>(m);
    }
    asio::post(from.get_executor(), [again] { again({}); });
  }

  // The source of a direction sent EOF: pass the half-close on.
  template <class To>
  void ended(To& to, Direction& d) {
    shutdownSend(to, this->shared_from_this());
    d.done = true;
    if (up_.done && down_.done) abort();
  }

  template <class From, class To>
  void pump(From& from, To& to, Direction& d, bool upstream) {
    from.async_read_some(asio::buffer(d.buf.get(), kBufferSize),
                         [self = this->shared_from_this(), &from, &to, &d, upstream](
                             boost::system::error_code ec, std::size_t n) {
                           if (self->closed_) return;
                           if (ec) {
                             if (ec != asio::error::eof) return self->abort();
                             return self->ended(to, d);
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
                           bool bulk = n == kBufferSize;
                           asio::async_write(to, asio::buffer(d.buf.get(), n),
                                             [self, &from, &to, &d, upstream, bulk](
                                                 boost::system::error_code ec2, std::size_t) {
                                               if (self->closed_) return;
                                               if (ec2) return self->abort();
                                               if constexpr (kBothPlain) {
                                                 if (bulk && self->startSplicing(d, from, to))
                                                   return self->splicePump(from, to, d, upstream);
                                               }
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
