// The TLS leg of a relay: OpenSSL writing straight to the TCP socket, and
// reading from a memory BIO that Asio's own socket reads fill. Asio's
// ssl::stream runs both directions through a BIO pair and a composed
// operation per call, and a bare async_wait re-arms epoll on every wait; for a
// relay of small records those were the larger part of the proxy's own CPU
// and an extra system call per read. This stream offers what the relay and
// the proxy use of ssl::stream: async_handshake, async_read_some,
// async_write_some (so asio::async_write works), native_handle,
// lowest_layer, get_executor. It also carries the half-close the relay needs,
// session resumption and the SPIFFE identity check.
//
// One operation per direction at a time (a read and a write may be pending
// together), on one thread; not moved while an operation is pending. Internal
// to the proxy library (Asio and OpenSSL types); include from proxy/*.cpp
// only.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace cairn::proxy {

class TlsStream {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using lowest_layer_type = boost::asio::ip::tcp::socket;
  using handshake_type = boost::asio::ssl::stream_base::handshake_type;
  static constexpr handshake_type client = boost::asio::ssl::stream_base::client;
  static constexpr handshake_type server = boost::asio::ssl::stream_base::server;

  // SSL_new takes a reference on the context's SSL_CTX: the stream keeps
  // working with it after the context is replaced.
  TlsStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& ctx);
  TlsStream(TlsStream&&) noexcept = default;
  TlsStream& operator=(TlsStream&&) noexcept = default;
  ~TlsStream();

  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_; }
  lowest_layer_type& next_layer() { return socket_; }
  SSL* native_handle() { return ssl_.get(); }

  // handler(error_code)
  template <class Handler>
  void async_handshake(handshake_type type, Handler&& handler) {
    if (type == client) offerSession();
    run([this, type](std::size_t&) { return handshakeStep(type); },
        [h = std::forward<Handler>(handler)](boost::system::error_code ec, std::size_t) mutable {
          h(ec);
        });
  }

  // handler(error_code, bytes): reads into the first non-empty buffer.
  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    auto b = first<boost::asio::mutable_buffer>(buffers);
    run([this, b](std::size_t& n) { return readStep(b.data(), b.size(), n); },
        std::forward<Handler>(handler));
  }

  // handler(error_code, bytes): writes from the first non-empty buffer.
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    auto b = first<boost::asio::const_buffer>(buffers);
    run([this, b](std::size_t& n) { return writeStep(b.data(), b.size(), n); },
        std::forward<Handler>(handler));
  }

  // Sends our close_notify (our sending half ends) while the peer may go on
  // sending: reads keep working until the peer's close_notify. `keep` keeps
  // the stream's owner alive until the alert is written.
  void asyncShutdownSend(std::shared_ptr<void> keep);

  // What an SSL call asks for next: done (with an error or not), or wait for
  // the socket to be readable or writable and call again.
  enum class Want { kDone, kRead, kWrite };
  struct Step {
    Want want = Want::kDone;
    boost::system::error_code ec;
  };

 private:
  struct SslFree {
    void operator()(SSL* s) const;
  };

  // The first non-empty buffer of a sequence (Asio's own streams do the same).
  template <class Buffer, class Buffers>
  static Buffer first(const Buffers& buffers) {
    auto end = boost::asio::buffer_sequence_end(buffers);
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != end; ++it)
      if (Buffer b(*it); b.size() > 0) return b;
    return Buffer{};
  }

  // Calls `call` until it is done; the handler always runs from the
  // executor, never inside this call. OpenSSL reads its input from a memory
  // BIO this stream fills with Asio's own socket reads (which wait for
  // readiness without re-arming epoll each time, as a bare async_wait would)
  // and writes straight to the socket. One socket read at a time: another
  // operation that needs input meanwhile waits for readiness and retries.
  template <class Call, class Handler>
  void run(Call call, Handler&& handler) {
    std::size_t n = 0;
    Step s = call(n);
    if (s.want == Want::kDone) {
      boost::asio::post(socket_.get_executor(),
                        [h = std::forward<Handler>(handler), ec = s.ec, n]() mutable { h(ec, n); });
      return;
    }
    if (s.want == Want::kRead && !reading_) {
      reading_ = true;
      socket_.async_read_some(boost::asio::buffer(input_.get(), kInputSize),
                              [this, call = std::move(call), h = std::forward<Handler>(handler)](
                                  boost::system::error_code ec, std::size_t got) mutable {
                                if (ec == boost::asio::error::operation_aborted)
                                  return h(ec, std::size_t{0});
                                reading_ = false;
                                if (ec && ec != boost::asio::error::eof)
                                  return h(ec, std::size_t{0});
                                feed(ec ? 0 : got);
                                run(std::move(call), std::move(h));
                              });
      return;
    }
    socket_.async_wait(
        s.want == Want::kRead ? lowest_layer_type::wait_read : lowest_layer_type::wait_write,
        [this, call = std::move(call),
         h = std::forward<Handler>(handler)](boost::system::error_code ec) mutable {
          if (ec) return h(ec, std::size_t{0});
          run(std::move(call), std::move(h));
        });
  }

  // Hands `n` bytes of input_ to OpenSSL; 0: the peer closed the socket.
  void feed(std::size_t n);

  void offerSession();
  Step handshakeStep(handshake_type type);
  Step readStep(void* data, std::size_t size, std::size_t& n);
  Step writeStep(const void* data, std::size_t size, std::size_t& n);
  Step shutdownStep();
  Step classify(int ret);

  static constexpr std::size_t kInputSize = 32 * 1024;

  lowest_layer_type socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::unique_ptr<char[]> input_{new char[kInputSize]};
  bool reading_ = false;
};

// Turns on TLS 1.3 session resumption for streams made from `ctx`, both
// ways: as a server it issues tickets (sealed with keys this context made,
// so a replaced context, e.g. after a leaf or CA rotation, starts over with
// full handshakes), as a client it keeps the last ticket per peer address and
// offers it on the next connection there. A resumed session skips the
// certificate signatures and chain checks; the peer's certificate (and so its
// SPIFFE ID) comes from the session. Sessions live `lifetime`.
void enableResumption(boost::asio::ssl::context& ctx, std::chrono::seconds lifetime);
// No tickets issued, none kept: every connection made from `ctx` does a full
// handshake.
void disableResumption(boost::asio::ssl::context& ctx);

void shutdownSend(TlsStream& s, std::shared_ptr<void> keep);
void closeStream(TlsStream& s);

// The URI subjectAltNames of the peer's (already verified) certificate.
std::vector<std::string> peerUris(TlsStream& s);
// The URI subjectAltNames of the trust anchor that verified the peer's
// chain (the mesh's roots carry "spiffe://<trust-domain>"); empty when the
// handshake verified nothing.
std::vector<std::string> verifiedRootUris(TlsStream& s);
// The URI subjectAltNames of every trusted root in the stream's context: for
// a resumed session, whose handshake verified no chain.
std::vector<std::string> trustedRootUris(TlsStream& s);

// Ok when `expected` is empty or is one of the peer's URI SANs; the error
// says what the peer presented.
Status checkPeerId(TlsStream& s, const std::string& expected);

}  // namespace cairn::proxy
