#include "server/transport.hpp"

#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/log.hpp"
#include "common/tls_context.hpp"
#include "server/send_queue.hpp"

namespace cairn::server {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

// The first byte of every TLS connection: a handshake record.
constexpr unsigned char kTlsHandshakeRecord = 0x16;

Result<tcp::endpoint> parseEndpoint(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return invalidArgument("address without a port: " + address);
  error_code ec;
  auto ip = asio::ip::make_address(address.substr(0, colon), ec);
  if (ec) return invalidArgument("bad address: " + address);
  int port = std::atoi(address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return invalidArgument("bad port in " + address);
  return tcp::endpoint(ip, static_cast<uint16_t>(port));
}

// Logs refused connections at most once a minute per key (peer and
// reason): a misconfigured peer retries every 2 s and must not flood the
// log. I/O thread only.
class RefusalLog {
 public:
  bool shouldLog(const std::string& key, Clock::time_point now) {
    auto it = last_.find(key);
    if (it != last_.end() && now - it->second < kEvery) return false;
    if (last_.size() >= kMaxKeys) last_.clear();
    last_[key] = now;
    return true;
  }

 private:
  static constexpr auto kEvery = std::chrono::minutes(1);
  static constexpr size_t kMaxKeys = 1024;
  std::map<std::string, Clock::time_point> last_;
};

// What every connection of one transport shares. Owned by TransportImpl,
// which outlives the connections' handlers (they run on its thread).
struct Shared {
  Transport::Handler& handler;
  ssl::context* tls;  // null: plain TCP
  std::chrono::milliseconds handshakeTimeout;
  RefusalLog refusals{};
  std::atomic<uint64_t> inboundAccepted{0};
  std::atomic<uint64_t> inboundRefused{0};
  std::atomic<uint64_t> outboundRefused{0};
  // A peer said hello on an inbound connection: it is up (I/O thread).
  std::function<void(const std::string& address)> peerIsUp;

  void refuse(const char* what, const std::string& peer, const std::string& logKey,
              const std::string& reason) {
    if (refusals.shouldLog(logKey + " " + reason, Clock::now()))
      log::get("transport")->warn("{} peer={} reason={}", what, peer, reason);
  }
};

// One connection's bytes: plain TCP, or TLS over TCP.
class Stream {
 public:
  Stream(tcp::socket s, ssl::context* tls) {
    if (tls)
      tls_.emplace(std::move(s), *tls);
    else
      plain_.emplace(std::move(s));
  }
  bool isTls() const { return tls_.has_value(); }
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  SSL* ssl() { return tls_ ? tls_->native_handle() : nullptr; }
  void close() {
    error_code ignore;
    socket().close(ignore);
  }
  template <typename H>
  void handshake(ssl::stream_base::handshake_type type, H&& h) {
    tls_->async_handshake(type, std::forward<H>(h));
  }
  template <typename B, typename H>
  void read(const B& buffers, H&& h) {
    if (tls_)
      asio::async_read(*tls_, buffers, std::forward<H>(h));
    else
      asio::async_read(*plain_, buffers, std::forward<H>(h));
  }
  template <typename B, typename H>
  void readSome(const B& buffers, H&& h) {
    if (tls_)
      tls_->async_read_some(buffers, std::forward<H>(h));
    else
      plain_->async_read_some(buffers, std::forward<H>(h));
  }
  template <typename B, typename H>
  void write(const B& buffers, H&& h) {
    if (tls_)
      asio::async_write(*tls_, buffers, std::forward<H>(h));
    else
      asio::async_write(*plain_, buffers, std::forward<H>(h));
  }

 private:
  std::optional<tcp::socket> plain_;
  std::optional<ssl::stream<tcp::socket>> tls_;
};

// Reads frames from one inbound connection; with TLS, only once the
// handshake has verified the peer's certificate.
class Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  Inbound(tcp::socket s, Shared& shared)
      : timer_(s.get_executor()), stream_(std::move(s), shared.tls), shared_(shared) {
    error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    peerIp_ = ec ? "unknown" : ep.address().to_string();
    peer_ = ec ? peerIp_ : peerIp_ + ":" + std::to_string(ep.port());
  }

  void start() {
    if (!stream_.isTls()) return accepted();
    timer_.expires_after(shared_.handshakeTimeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      self->timedOut_ = true;
      self->stream_.close();
    });
    // A plain-TCP peer would send a frame length where TLS sends a
    // handshake record; peeking tells the two apart with a clear reason.
    stream_.socket().async_receive(
        asio::buffer(peek_), tcp::socket::message_peek,
        [self = shared_from_this()](error_code ec, size_t n) {
          if (ec || n == 0) return self->refuse(ec, "the peer closed the connection");
          if (self->peek_[0] != kTlsHandshakeRecord)
            return self->refuse({}, "the peer is not speaking TLS (is it configured without tls?)");
          self->stream_.handshake(ssl::stream_base::server, [self](error_code ec) {
            self->timer_.cancel();
            if (ec) return self->refuse(ec, "");
            self->accepted();
          });
        });
  }

 private:
  void refuse(const error_code& ec, const std::string& reason) {
    std::string why = timedOut_         ? "the TLS handshake timed out"
                      : !reason.empty() ? reason
                      : ec              ? tls::describeFailure(ec, stream_.ssl())
                                        : "TLS handshake failed";
    ++shared_.inboundRefused;
    shared_.refuse("refused server connection", peer_, peerIp_, why);
    timer_.cancel();
    stream_.close();
  }
  void accepted() {
    ++shared_.inboundAccepted;
    readHeader();
  }
  void readHeader() {
    stream_.read(asio::buffer(header_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return;
      uint32_t n = 0;
      for (unsigned char c : self->header_) n = (n << 8) | c;
      if (n == 0 || n > kMaxFrameBytes) {
        auto logger = log::get("transport");
        if (self->header_[0] == kTlsHandshakeRecord && self->header_[1] == 3)
          logger->warn("closing server connection peer={} reason=it speaks TLS, we have no tls",
                       self->peer_);
        else
          logger->warn("closing peer connection: frame of {} bytes", n);
        return;  // the socket closes with this object
      }
      self->body_.resize(n);
      self->readBody();
    });
  }
  void readBody() {
    stream_.read(asio::buffer(body_), [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return;
      auto f = decodeFrame(self->body_);
      if (!f.ok()) {
        log::get("transport")->warn("closing peer connection: {}", f.error().message);
        return;
      }
      if (auto* h = std::get_if<PeerHello>(&*f)) {
        if (self->shared_.peerIsUp) self->shared_.peerIsUp(h->address);
        self->shared_.handler.onHello(*h);
      } else if (auto* m = std::get_if<raft::Message>(&*f))
        self->shared_.handler.onMessage(std::move(*m));
      else if (auto* l = std::get_if<LoadReports>(&*f))
        self->shared_.handler.onLoads(std::move(*l));
      else if (auto* t = std::get_if<TtlReports>(&*f))
        self->shared_.handler.onTtls(std::move(*t));
      // UnknownFrame: a newer peer's body; skipped.
      self->readHeader();
    });
  }

  asio::steady_timer timer_;
  Stream stream_;
  Shared& shared_;
  std::string peer_;
  std::string peerIp_;
  bool timedOut_ = false;
  std::array<unsigned char, 1> peek_{};
  std::array<unsigned char, 4> header_{};
  std::string body_;
};

// Sends frames to one peer address, reconnecting with backoff. Frames wait
// in a bounded SendQueue (count, bytes, age) while the peer is unreachable
// or not reading; the hello is not queued but written first on every
// connection, so no bound ever drops it.
//
// Every handler carries the generation of the connection it was started
// for; retry() starts a new generation, so the handlers of a dead
// connection (a failed write and a failed read may both report) do nothing.
class Outbound : public std::enable_shared_from_this<Outbound> {
 public:
  Outbound(asio::io_context& ioc, Shared& shared, std::string address, SendQueue::Limits limits,
           std::function<std::string()> hello)
      : ioc_(ioc),
        shared_(shared),
        timer_(ioc),
        address_(std::move(address)),
        queue_(limits),
        hello_(std::move(hello)) {}

  void start() { connect(); }
  void stop() {
    stopped_ = true;
    if (stream_) stream_->close();
    timer_.cancel();
  }
  void enqueue(std::string frame) {
    queue_.push(std::move(frame), Clock::now());  // bounded: Raft copes with loss
    if (connected_ && !writing_) writeNext();
  }
  // The peer is up again (it connected to us): if waiting out a backoff,
  // reconnect now instead of after up to 2 s.
  void kick() {
    if (!waiting_ || stopped_) return;
    waiting_ = false;
    ++gen_;  // the pending backoff timer's handler does nothing
    timer_.cancel();
    backoff_ = std::chrono::milliseconds(50);
    connect();
  }
  void resendHello() {
    if (connected_) {
      helloDue_ = true;
      if (!writing_) writeNext();
    }
  }

 private:
  bool current(uint64_t gen) const { return !stopped_ && gen == gen_; }

  void connect() {
    if (stopped_) return;
    auto ep = parseEndpoint(address_);
    if (!ep.ok()) return;
    timedOut_ = false;
    stream_ = std::make_unique<Stream>(tcp::socket(ioc_), shared_.tls);
    stream_->socket().async_connect(*ep, [self = shared_from_this(), gen = gen_](error_code ec) {
      if (!self->current(gen)) return;
      if (ec) return self->retry();
      error_code ignore;
      self->stream_->socket().set_option(tcp::no_delay(true), ignore);
      if (!self->stream_->isTls()) return self->connected();
      self->handshake(gen);
    });
  }
  void handshake(uint64_t gen) {
    timer_.expires_after(shared_.handshakeTimeout);
    timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
      if (ec || !self->current(gen)) return;
      self->timedOut_ = true;
      self->stream_->close();
    });
    stream_->handshake(ssl::stream_base::client, [self = shared_from_this(), gen](error_code ec) {
      if (!self->current(gen)) return;
      self->timer_.cancel();
      if (ec) {
        self->refused(self->timedOut_ ? "the TLS handshake timed out"
                                      : "TLS handshake failed: " +
                                            tls::describeFailure(ec, self->stream_->ssl()));
        return self->retry();
      }
      self->connected();
    });
  }
  void connected() {
    connected_ = true;
    shared_.handler.onLink(address_, true);
    backoff_ = std::chrono::milliseconds(50);
    watchForClose(gen_);
    helloDue_ = true;
    writeNext();
  }
  // The peer never writes on this connection, so a read ends only when the
  // connection does. With TLS 1.3 it is also where the peer's refusal of our
  // certificate arrives: its alert comes after our side of the handshake.
  void watchForClose(uint64_t gen) {
    stream_->readSome(asio::buffer(readBuf_),
                      [self = shared_from_this(), gen](error_code ec, size_t) {
                        if (!self->current(gen)) return;
                        if (!ec) return self->watchForClose(gen);
                        if (tls::isTlsError(ec))
                          self->refused(tls::describeFailure(ec, self->stream_->ssl()));
                        self->retry();
                      });
  }
  void refused(const std::string& reason) {
    ++shared_.outboundRefused;
    shared_.refuse("cannot connect to server", address_, address_, reason);
  }
  void retry() {
    ++gen_;
    if (connected_) shared_.handler.onLink(address_, false);
    connected_ = false;
    writing_ = false;
    if (stream_) stream_->close();
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
    waiting_ = true;
    timer_.async_wait([self = shared_from_this(), gen = gen_](error_code ec) {
      if (ec || !self->current(gen)) return;
      self->waiting_ = false;
      self->connect();
    });
  }
  void writeNext() {
    // Everything queued (up to 1 MiB) in one write, after the hello if due.
    auto batch = std::make_shared<std::string>(helloDue_ ? hello_() : std::string());
    helloDue_ = false;
    *batch += queue_.takeBatch(1u << 20, Clock::now());
    if (batch->empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    stream_->write(asio::buffer(*batch),
                   [self = shared_from_this(), batch, gen = gen_](error_code ec, size_t) {
                     if (!self->current(gen)) return;
                     if (ec) return self->retry();
                     self->writeNext();
                   });
  }

  asio::io_context& ioc_;
  Shared& shared_;
  std::unique_ptr<Stream> stream_;
  asio::steady_timer timer_;  // backoff, or the handshake's deadline
  std::string address_;
  SendQueue queue_;
  std::function<std::string()> hello_;
  std::array<unsigned char, 64> readBuf_{};
  uint64_t gen_ = 0;
  bool connected_ = false;
  bool writing_ = false;
  bool stopped_ = false;
  bool timedOut_ = false;
  bool waiting_ = false;   // a backoff timer is pending
  bool helloDue_ = false;  // written first by the next writeNext()
  std::chrono::milliseconds backoff_{50};
};

class TransportImpl final : public Transport {
 public:
  TransportImpl(const Config& cfg, Handler& h, std::unique_ptr<ssl::context> tls)
      : cfg_(cfg),
        tls_(std::move(tls)),
        shared_{h, tls_.get(), cfg.handshakeTimeout, {}, {0}, {0}, {0}, {}},
        acceptor_(ioc_),
        work_(ioc_.get_executor()) {
    shared_.peerIsUp = [this](const std::string& address) {
      if (auto it = out_.find(address); it != out_.end()) it->second->kick();
    };
  }
  ~TransportImpl() override { stop(); }

  Status listen() {
    error_code ec;
    auto addr = asio::ip::make_address(cfg_.bindAddress, ec);
    if (ec) return invalidArgument("bad server bind address " + cfg_.bindAddress);
    tcp::endpoint ep(addr, cfg_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return ioError("cannot listen for servers on " + cfg_.bindAddress + ":" +
                     std::to_string(cfg_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
    return {};
  }

  uint16_t port() const override { return port_; }

  void setHello(const PeerHello& hello) override {
    {
      std::lock_guard lock(helloMu_);
      hello_ = encodeFrame(hello);
    }
    asio::post(ioc_, [this] {
      for (auto& [a, o] : out_) o->resendHello();
    });
  }

  void connect(const std::string& address) override {
    asio::post(ioc_, [this, address] { outbound(address); });
  }

  void send(const std::string& address, const raft::Message& m) override {
    sendFrame(address, encodeFrame(m));
  }
  void sendLoads(const std::string& address, const LoadReports& reports) override {
    sendFrame(address, encodeFrame(reports));
  }
  void sendTtls(const std::string& address, const TtlReports& reports) override {
    sendFrame(address, encodeFrame(reports));
  }

  Stats stats() const override {
    return {shared_.inboundAccepted.load(), shared_.inboundRefused.load(),
            shared_.outboundRefused.load()};
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(ioc_, [this] {
      error_code ec;
      acceptor_.close(ec);
      for (auto& [a, o] : out_) o->stop();
    });
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void sendFrame(const std::string& address, std::string frame) {
    asio::post(ioc_, [this, address, frame = std::move(frame)]() mutable {
      outbound(address)->enqueue(std::move(frame));
    });
  }

  std::shared_ptr<Outbound> outbound(const std::string& address) {
    auto it = out_.find(address);
    if (it != out_.end()) return it->second;
    auto o = std::make_shared<Outbound>(
        ioc_, shared_, address,
        SendQueue::Limits{cfg_.maxQueuedFrames, cfg_.maxQueuedBytes, cfg_.maxFrameAge}, [this] {
          std::lock_guard lock(helloMu_);
          return hello_;
        });
    out_[address] = o;
    o->start();
    return o;
  }

  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Inbound>(std::move(s), shared_)->start();
      accept();
    });
  }

  Config cfg_;
  // Declared before the io_context: the streams in its pending handlers use
  // the TLS context until the io_context is destroyed.
  std::unique_ptr<ssl::context> tls_;
  Shared shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  std::map<std::string, std::shared_ptr<Outbound>> out_;
  std::mutex helloMu_;
  std::string hello_;
  uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<Transport>> Transport::create(const Config& cfg, Handler& handler) {
  std::unique_ptr<ssl::context> tlsContext;
  if (cfg.tls) {
    tls::TlsConfig tc = *cfg.tls;
    tc.role = tls::TlsRole::kBoth;  // every server both dials and accepts
    tc.verifyPeer = true;
    auto ctx = tls::makeContext(tc);
    if (!ctx.ok()) return Error{ctx.error().code, "server TLS: " + ctx.error().message};
    tlsContext = std::move(*ctx);
    // Connections are long-lived and never resumed: no session tickets.
    SSL_CTX_set_num_tickets(tlsContext->native_handle(), 0);
  }
  auto t = std::make_unique<TransportImpl>(cfg, handler, std::move(tlsContext));
  Status st = t->listen();
  if (!st.ok()) return st.error();
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace cairn::server
