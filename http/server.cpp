#include "http/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/tls_context.hpp"
#include "http/url.hpp"

namespace cairn::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Requests with their own, larger body limit (see ServerConfig).
constexpr std::string_view kSnapshotPath = "/v1/snapshot";
// Bodies above this are written as their own buffer instead of being copied.
constexpr size_t kLargeBodyBytes = 64 << 10;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection, plain or TLS (Stream is PlainStream or TlsStream).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `tls` (TLS sessions only) is the context the connection was accepted
  // with; the session keeps it alive, so a reload does not disturb it.
  Session(tcp::socket socket, Handler& handler, const ServerConfig& cfg, std::atomic<size_t>& open,
          std::atomic<size_t>& writes, std::shared_ptr<asio::ssl::context> tls = nullptr)
      : tls_(std::move(tls)),
        stream_(makeStream(std::move(socket), tls_.get())),
        timer_(stream_.get_executor()),
        readTimer_(stream_.get_executor()),
        handler_(handler),
        cfg_(cfg),
        open_(open),
        writes_(writes) {
    ++open_;
  }
  ~Session() { --open_; }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->lowest().expires_after(self->cfg_.readTimeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (!ec) return self->readRequest();
          log::get("http")->debug("TLS handshake failed: {}",
                                  tls::describeFailure(ec, self->stream_.native_handle()));
          self->close();
        });
      } else {
        self->readRequest();
      }
    });
  }

 private:
  static Stream makeStream(tcp::socket socket, asio::ssl::context* ctx) {
    if constexpr (kTls)
      return Stream(std::move(socket), *ctx);
    else
      return Stream(std::move(socket));
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void readRequest() {
    parser_.emplace();
    // Beast checks a Content-Length against the limit while it parses the
    // header, before we know the path: start with the larger limit and lower
    // it in onHeader for everything but a restore.
    bodyLimit_ = std::max(cfg_.maxBodyBytes, cfg_.maxSnapshotBodyBytes);
    parser_->body_limit(bodyLimit_);
    parser_->header_limit(static_cast<uint32_t>(cfg_.maxHeaderBytes));
    lowest().expires_never();
    idleSince_ = std::chrono::steady_clock::now();
    armReadTimer(cfg_.readTimeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  bool requestStarted() const { return buffer_.size() > 0 || (parser_ && parser_->got_some()); }

  void onHeader(beast::error_code ec) {
    if (ec) return onReadError(ec);
    // The read timer armed for this request keeps ticking: the body must
    // arrive by its next tick too (one timer per request, not two).
    headerDone_ = true;
    const auto& head = parser_->get();
    std::string_view target(head.target().data(), head.target().size());
    if (head.method() == bhttp::verb::put && target.substr(0, target.find('?')) == kSnapshotPath) {
      // A restore: the whole catalog in one body, given more room and time.
      bodyLimit_ = cfg_.maxSnapshotBodyBytes;
      armReadTimer(cfg_.transferTimeout);
    } else {
      bodyLimit_ = cfg_.maxBodyBytes;
    }
    // Enforced here for a Content-Length, by the parser for chunked bodies.
    parser_->body_limit(bodyLimit_);
    if (auto len = parser_->content_length(); len && *len > bodyLimit_)
      return onReadError(bhttp::error::body_limit);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  // A timer apart from the stream's own expiry: that one closes the socket,
  // and a client that stalls mid-request should still be told 408.
  // Ticks every readTimeout: a request that has begun must be complete by
  // the next tick; a connection with no request at all may idle for
  // idleTimeout.
  void armReadTimer(std::chrono::milliseconds d) {
    readTimer_.expires_after(d);
    readTimer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      bool idleOk = std::chrono::steady_clock::now() - self->idleSince_ < self->cfg_.idleTimeout;
      if (!self->requestStarted() && !self->headerDone_ && idleOk)
        return self->armReadTimer(self->cfg_.readTimeout);
      self->timedOut_ = true;
      beast::error_code ignore;
      self->lowest().socket().cancel(ignore);
    });
  }

  void onReadError(beast::error_code ec) {
    readTimer_.cancel();
    if (timedOut_) {
      timedOut_ = false;
      headerDone_ = false;
      if (requestStarted())
        return sendError(408, "Request timeout: the request did not arrive in time");
      return close();
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof)
      return close();
    if (ec == beast::error::timeout) {
      if (parser_ && parser_->got_some())
        return sendError(408, "Request timeout: the request did not arrive in time");
      return close();
    }
    if (ec == bhttp::error::body_limit)
      return sendError(413,
                       "Request body too large: limit is " + std::to_string(bodyLimit_) + " bytes");
    if (ec == bhttp::error::header_limit) return sendError(431, "Request headers too large");
    return sendError(400, "Bad request: " + ec.message());
  }

  void sendError(int status, std::string msg) {
    keepAlive_ = false;
    Request dummy;
    dummy.method = "?";
    dummy.path = "?";
    write(Response::text(status, std::move(msg)), dummy, std::chrono::steady_clock::now());
  }

  void onRead(beast::error_code ec) {
    if (ec) return onReadError(ec);
    readTimer_.cancel();
    headerDone_ = false;
    auto started = std::chrono::steady_clock::now();
    auto& msg = parser_->get();
    keepAlive_ = msg.keep_alive();
    Request req;
    req.method = std::string(msg.method_string());
    auto target = parseTarget(std::string_view(msg.target().data(), msg.target().size()));
    if (!target.ok()) return sendError(400, target.error().message);
    req.path = std::move(target->path);
    req.query = std::move(target->query);
    for (const auto& f : msg) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(f.value());
    }
    req.body = std::move(msg.body());
    beast::error_code rec;
    auto ep = lowest().socket().remote_endpoint(rec);
    if (!rec) {
      auto addr = ep.address();
      if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
      req.remoteAddr = addr.to_string();
    }
    lowest().expires_never();
    Outcome out = handler_.handle(req);
    dispatchOutcome(std::move(out), std::move(req), started);
  }

  void dispatchOutcome(Outcome out, Request req, std::chrono::steady_clock::time_point started) {
    if (auto* r = std::get_if<Response>(&out)) return write(std::move(*r), req, started);
    if (auto* d = std::get_if<Deferred>(&out)) {
      auto self = this->shared_from_this();
      auto reqp = std::make_shared<Request>(std::move(req));
      ++writes_;
      // Counts as work until answered, so the I/O threads keep running for
      // it even when nothing else is pending (at shutdown, once the acceptor
      // is closed); otherwise the answer is posted to a stopped io_context.
      auto ex = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
      d->start([self, reqp, started, ex](Response r) {
        asio::post(ex, [self, reqp, started, r = std::move(r)]() mutable {
          --self->writes_;
          self->write(std::move(r), *reqp, started);
        });
      });
      return;
    }
    if (auto* g = std::get_if<Gated>(&out)) {
      auto self = this->shared_from_this();
      auto reqp = std::make_shared<Request>(std::move(req));
      ++writes_;  // pending work, as a Deferred's
      auto ex = asio::prefer(stream_.get_executor(), asio::execution::outstanding_work.tracked);
      g->wait([self, reqp, started, ex, then = std::move(g->then)](Status opened) {
        asio::post(ex, [self, reqp, started, then, opened = std::move(opened)]() mutable {
          // Dispatched before the count drops, so a Deferred it returns
          // is counted without a gap.
          Outcome next = then(*reqp, opened);
          self->dispatchOutcome(std::move(next), std::move(*reqp), started);
          --self->writes_;
        });
      });
      return;
    }
    auto b = std::get<Blocking>(std::move(out));
    blockOn(std::move(b), std::move(req), started);
  }

  struct BlockState;

  void blockOn(Blocking b, Request req, std::chrono::steady_clock::time_point started) {
    auto self = this->shared_from_this();
    auto state = std::make_shared<BlockState>();
    state->render = std::move(b.render);
    state->req = std::move(req);
    state->started = started;
    auto finish = [self, state] {
      if (state->done) return;
      state->done = true;
      self->timer_.cancel();
      if (state->watchId) self->handler_.watches().cancel(state->watchId);
      self->write(state->render(), state->req, state->started);
    };
    // fire() runs on the publishing thread: hop onto this session's strand.
    state->watchId = handler_.watches().watch(
        b.keys, b.ready, [self, finish] { asio::post(self->stream_.get_executor(), finish); });
    if (state->watchId == 0) return finish();
    timer_.expires_after(b.wait);
    timer_.async_wait([finish](beast::error_code ec) {
      if (!ec) finish();
    });
    watchHangup(state);
  }

  // Notices a client that hangs up while its query waits, so the watch is
  // released. A readiness wait can end with nothing to read (an epoll event
  // left over from bytes a read already took): then it waits again. The peek
  // must not block: this runs on the session's strand, which the answer
  // needs too (a blocking peek held it, and an I/O thread, until the client
  // sent something).
  void watchHangup(std::shared_ptr<BlockState> state) {
    auto self = this->shared_from_this();
    lowest().socket().async_wait(tcp::socket::wait_read, [self, state](beast::error_code ec) {
      if (state->done) return;
      if (!ec) {
        char probe;
        ssize_t n =
            ::recv(self->lowest().socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) return;  // pipelined data: answer first, read later
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
          return self->watchHangup(state);
      }
      state->done = true;
      self->timer_.cancel();
      if (state->watchId) self->handler_.watches().cancel(state->watchId);
      self->close();
    });
  }

  struct BlockState {
    bool done = false;
    uint64_t watchId = 0;
    std::function<Response()> render;
    Request req;
    std::chrono::steady_clock::time_point started;
  };

  void write(Response r, const Request& req, std::chrono::steady_clock::time_point started) {
    // The response is written as one contiguous buffer: status line, headers
    // and body. (Beast's generic serializer walks a buffer sequence per
    // response, which cost ~10% of a read in profiles.) A large body (a
    // snapshot) is not copied: it goes as a second buffer.
    bool large = r.body.size() > kLargeBodyBytes;
    auto out = std::make_shared<std::string>();
    auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(r.status));
    out->reserve(160 + (large ? 0 : r.body.size()));
    out->append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ");
    out->append(reason.data(), reason.size());
    out->append("\r\nContent-Type: ").append(r.contentType);
    for (const auto& [k, v] : r.headers) out->append("\r\n").append(k).append(": ").append(v);
    out->append("\r\nContent-Length: ").append(std::to_string(r.body.size()));
    if (!keepAlive_) out->append("\r\nConnection: close");
    out->append("\r\n\r\n");
    if (!large) out->append(r.body);
    auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    handler_.observe(req, r.status, latency);
    auto done = [self = this->shared_from_this(), out](beast::error_code ec, size_t) {
      if (ec || !self->keepAlive_) return self->close();
      self->readRequest();
    };
    if (!large) {
      lowest().expires_after(cfg_.readTimeout);
      return boost::asio::async_write(stream_, boost::asio::buffer(*out), std::move(done));
    }
    auto body = std::make_shared<std::string>(std::move(r.body));
    std::array<asio::const_buffer, 2> buffers{asio::buffer(*out), asio::buffer(*body)};
    lowest().expires_after(body->size() > (1u << 20) ? cfg_.transferTimeout : cfg_.readTimeout);
    boost::asio::async_write(
        stream_, buffers,
        [done = std::move(done), body](beast::error_code ec, size_t n) { done(ec, n); });
  }

  void close() {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().socket().close(ec);
  }

  std::shared_ptr<asio::ssl::context> tls_;  // before stream_, which refers to it
  Stream stream_;
  asio::steady_timer timer_;
  asio::steady_timer readTimer_;
  bool timedOut_ = false;
  bool headerDone_ = false;
  std::chrono::steady_clock::time_point idleSince_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  size_t bodyLimit_ = 0;  // of the request being read
  Handler& handler_;
  const ServerConfig& cfg_;
  std::atomic<size_t>& open_;
  std::atomic<size_t>& writes_;
  bool keepAlive_ = true;
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const ServerConfig& cfg, Handler& handler)
      : cfg_(cfg), handler_(handler), ioc_(cfg.threads), acceptor_(asio::make_strand(ioc_)) {}

  ~HttpServerImpl() override { stop(); }

  Status listen() {
    if (cfg_.tls) {
      auto ctx = tls::makeContext(*cfg_.tls);
      if (!ctx.ok()) return ctx.error();
      tlsCtx_ = std::move(*ctx);
    }
    beast::error_code ec;
    auto addr = asio::ip::make_address(cfg_.address, ec);
    if (ec) return invalidArgument("bad HTTP listen address \"" + cfg_.address + "\"");
    tcp::endpoint ep(addr, cfg_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return ioError("cannot listen for HTTP on " + cfg_.address + ":" + std::to_string(cfg_.port) +
                     ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (int i = 0; i < std::max(1, cfg_.threads); ++i)
      threads_.emplace_back([this] { ioc_.run(); });
    return {};
  }

  uint16_t port() const override { return port_; }
  size_t openConnections() const override { return open_.load(); }

  Status reloadTls() override {
    if (!cfg_.tls) return {};
    auto ctx = tls::makeContext(*cfg_.tls);
    if (!ctx.ok()) return ctx.error();  // the old certificate stays in use
    std::lock_guard lock(tlsMu_);
    tlsCtx_ = std::move(*ctx);
    return {};
  }

  void stopAccepting() override {
    std::promise<void> done;
    asio::post(acceptor_.get_executor(), [this, &done] {
      beast::error_code ec;
      acceptor_.close(ec);
      done.set_value();
    });
    done.get_future().wait_for(std::chrono::seconds(2));
  }

  bool waitForWrites(std::chrono::milliseconds limit) override {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (writes_.load() > 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Let the answers just queued reach their sockets.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return true;
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
      // Closed (stopAccepting): stop here, or a closed acceptor fails at
      // once, for ever.
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        if (open_.load() >= cfg_.maxConnections) {
          beast::error_code ignore;
          s.close(ignore);
        } else {
          s.set_option(tcp::no_delay(true), ec);
          if (cfg_.tls) {
            std::shared_ptr<asio::ssl::context> ctx;
            {
              std::lock_guard lock(tlsMu_);
              ctx = tlsCtx_;
            }
            std::make_shared<Session<TlsStream>>(std::move(s), handler_, cfg_, open_, writes_,
                                                 std::move(ctx))
                ->start();
          } else {
            std::make_shared<Session<PlainStream>>(std::move(s), handler_, cfg_, open_, writes_)
                ->start();
          }
        }
      } else {
        // Out of descriptors, say: wait a moment rather than spin.
        log::get("http")->warn("accept failed: {}", ec.message());
        retry_.expires_after(std::chrono::milliseconds(100));
        retry_.async_wait([this](beast::error_code wec) {
          if (!wec) accept();
        });
        return;
      }
      accept();
    });
  }

  ServerConfig cfg_;
  Handler& handler_;
  std::mutex tlsMu_;
  std::shared_ptr<asio::ssl::context> tlsCtx_;  // new connections take the current one
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_{ioc_};
  std::vector<std::thread> threads_;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> writes_{0};
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(const ServerConfig& cfg, Handler& handler) {
  auto s = std::make_unique<HttpServerImpl>(cfg, handler);
  Status st = s->listen();
  if (!st.ok()) return st.error();
  return std::unique_ptr<HttpServer>(std::move(s));
}

}  // namespace cairn::http
