#include "server/transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.hpp"

namespace cairn::server {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

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

// Reads frames from one inbound connection.
class Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  Inbound(tcp::socket s, Transport::Handler& h) : sock_(std::move(s)), handler_(h) {}
  void start() { readHeader(); }

 private:
  void readHeader() {
    asio::async_read(
        sock_, asio::buffer(header_), [self = shared_from_this()](error_code ec, size_t) {
          if (ec) return;
          uint32_t n = 0;
          for (unsigned char c : self->header_) n = (n << 8) | c;
          if (n == 0 || n > kMaxFrameBytes) {
            log::get("transport")->warn("closing peer connection: frame of {} bytes", n);
            return;  // the socket closes with this object
          }
          self->body_.resize(n);
          self->readBody();
        });
  }
  void readBody() {
    asio::async_read(
        sock_, asio::buffer(body_), [self = shared_from_this()](error_code ec, size_t) {
          if (ec) return;
          auto f = decodeFrame(self->body_);
          if (!f.ok()) {
            log::get("transport")->warn("closing peer connection: {}", f.error().message);
            return;
          }
          if (auto* h = std::get_if<PeerHello>(&*f))
            self->handler_.onHello(*h);
          else
            self->handler_.onMessage(std::get<raft::Message>(std::move(*f)));
          self->readHeader();
        });
  }

  tcp::socket sock_;
  Transport::Handler& handler_;
  std::array<unsigned char, 4> header_{};
  std::string body_;
};

// Sends frames to one peer address, reconnecting with backoff.
class Outbound : public std::enable_shared_from_this<Outbound> {
 public:
  Outbound(asio::io_context& ioc, std::string address, size_t maxQueue,
           std::function<std::string()> hello)
      : ioc_(ioc),
        sock_(ioc),
        timer_(ioc),
        address_(std::move(address)),
        maxQueue_(maxQueue),
        hello_(std::move(hello)) {}

  void start() { connect(); }
  void stop() {
    stopped_ = true;
    error_code ec;
    sock_.close(ec);
    timer_.cancel();
  }
  void enqueue(std::string frame) {
    if (queue_.size() >= maxQueue_) queue_.pop_front();  // Raft copes with loss
    queue_.push_back(std::move(frame));
    if (connected_ && !writing_) writeNext();
  }
  void resendHello() {
    if (connected_) {
      queue_.push_front(hello_());
      if (!writing_) writeNext();
    }
  }

 private:
  void connect() {
    if (stopped_) return;
    auto ep = parseEndpoint(address_);
    if (!ep.ok()) return;
    sock_ = tcp::socket(ioc_);
    uint64_t gen = ++generation_;
    sock_.async_connect(*ep, [self = shared_from_this(), gen](error_code ec) {
      if (self->stopped_ || gen != self->generation_) return;
      if (ec) return self->retry();
      error_code ignore;
      self->sock_.set_option(tcp::no_delay(true), ignore);
      self->connected_ = true;
      self->backoff_ = std::chrono::milliseconds(50);
      self->queue_.push_front(self->hello_());
      self->writeNext();
      self->watchForClose(gen);
    });
  }
  // The peer never writes on this connection, so readability means it was
  // closed or reset. Reconnect now: otherwise the next batch is written into
  // the dead socket, accepted by the kernel and lost (a forwarded proposal
  // lost that way waits out its whole timeout).
  void watchForClose(uint64_t gen) {
    sock_.async_wait(tcp::socket::wait_read, [self = shared_from_this(), gen](error_code) {
      if (self->stopped_ || gen != self->generation_) return;
      self->retry();
    });
  }
  void retry() {
    ++generation_;  // handlers of the old connection are stale from here
    connected_ = false;
    writing_ = false;
    error_code ignore;
    sock_.close(ignore);
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(2000));
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->connect();
    });
  }
  void writeNext() {
    if (queue_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    // Batch everything queued into one write.
    auto batch = std::make_shared<std::string>();
    while (!queue_.empty() && batch->size() < (1u << 20)) {
      *batch += queue_.front();
      queue_.pop_front();
    }
    asio::async_write(sock_, asio::buffer(*batch),
                      [self = shared_from_this(), batch, gen = generation_](error_code ec, size_t) {
                        if (self->stopped_ || gen != self->generation_) return;
                        if (ec) return self->retry();
                        self->writeNext();
                      });
  }

  asio::io_context& ioc_;
  tcp::socket sock_;
  asio::steady_timer timer_;
  std::string address_;
  size_t maxQueue_;
  std::function<std::string()> hello_;
  std::deque<std::string> queue_;
  bool connected_ = false;
  bool writing_ = false;
  bool stopped_ = false;
  uint64_t generation_ = 0;  // one per connection attempt
  std::chrono::milliseconds backoff_{50};
};

class TransportImpl final : public Transport {
 public:
  TransportImpl(const Config& cfg, Handler& h)
      : cfg_(cfg), handler_(h), acceptor_(ioc_), work_(ioc_.get_executor()) {}
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
    auto frame = encodeFrame(m);
    asio::post(ioc_, [this, address, frame = std::move(frame)]() mutable {
      outbound(address)->enqueue(std::move(frame));
    });
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
  std::shared_ptr<Outbound> outbound(const std::string& address) {
    auto it = out_.find(address);
    if (it != out_.end()) return it->second;
    auto o = std::make_shared<Outbound>(ioc_, address, cfg_.maxQueuedFrames, [this] {
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
      if (!ec) std::make_shared<Inbound>(std::move(s), handler_)->start();
      accept();
    });
  }

  Config cfg_;
  Handler& handler_;
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
  auto t = std::make_unique<TransportImpl>(cfg, handler);
  Status st = t->listen();
  if (!st.ok()) return st.error();
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace cairn::server
