#include "dns/tcp_server.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "common/log.hpp"

namespace cairn::dns {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

class TcpServerImpl;

// One connection. Lives on the server's single thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, TcpServerImpl& srv);
  ~Session();
  void start() { readLength(); }
  void close();

 private:
  void readLength();
  void onBody();
  void answer();
  void queue(std::span<const uint8_t> msg);
  void writeNext();
  void armIdle();
  bool full() const;

  tcp::socket sock_;
  tcp::endpoint peer_;
  asio::steady_timer idle_;
  TcpServerImpl& srv_;
  uint8_t len_[2] = {0, 0};
  std::vector<uint8_t> query_;
  std::deque<std::vector<uint8_t>> writes_;
  bool writing_ = false, reading_ = false, closed_ = false;
  int forwarding_ = 0;
};

class TcpServerImpl final : public TcpServer {
 public:
  TcpServerImpl(const AnswerConfig& cfg, std::unique_ptr<Responder> r, Forwarder* f, DnsMetrics& m,
                TcpLimits limits, const ClientPolicy& policy)
      : cfg(cfg),
        responder(std::move(r)),
        forwarder(f),
        metrics(m),
        limits(limits),
        policy(policy),
        scratch(kMaxMessage),
        acceptor_(io) {}
  ~TcpServerImpl() override { stop(); }

  Status bind(const std::string& address, uint16_t port) {
    error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) return invalidArgument("client_addr: \"" + address + "\" is not an IP address");
    tcp::endpoint ep(addr, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return ioError("dns: cannot bind TCP " + address + ":" + std::to_string(port) + ": " +
                     ec.message());
    return {};
  }

  void start() override {
    accept();
    thread_ = std::thread([this] { io.run(); });
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(io, [this] {
      error_code ec;
      acceptor_.close(ec);
      for (auto& w : sessions_)
        if (auto s = w.lock()) s->close();
    });
    if (thread_.joinable()) thread_.join();
    io.stop();
  }

  size_t connections() const override { return open.load(); }

  // Shared with sessions (all on the io thread, except the atomics).
  std::atomic<size_t> open{0};
  const AnswerConfig& cfg;
  std::unique_ptr<Responder> responder;
  Forwarder* forwarder;
  DnsMetrics& metrics;
  TcpLimits limits;
  const ClientPolicy& policy;
  std::vector<uint8_t> scratch;
  // Open connections by client address. Before the io_context: sessions
  // its destructor frees still count themselves out.
  std::map<asio::ip::address, int> perClient;
  asio::io_context io{1};

 private:
  void accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        error_code pe;
        auto peer = s.remote_endpoint(pe);
        if (pe || open.load() >= static_cast<size_t>(limits.maxConnections) ||
            perClient[peer.address()] >= policy.maxTcpPerClient) {
          s.close(ec);  // over a limit: refuse by closing
          if (auto* c = responder->counters()) c->tcpRefused.inc();
        } else {
          auto session = std::make_shared<Session>(std::move(s), *this);
          sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                         [](const auto& w) { return w.expired(); }),
                          sessions_.end());
          sessions_.push_back(session);
          session->start();
        }
      }
      accept();
    });
  }

  tcp::acceptor acceptor_;
  std::vector<std::weak_ptr<Session>> sessions_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

Session::Session(tcp::socket s, TcpServerImpl& srv)
    : sock_(std::move(s)), idle_(srv.io), srv_(srv) {
  ++srv_.open;
  error_code ec;
  peer_ = sock_.remote_endpoint(ec);
  ++srv_.perClient[peer_.address()];
  sock_.set_option(tcp::no_delay(true), ec);
}

Session::~Session() {
  --srv_.open;
  if (auto it = srv_.perClient.find(peer_.address());
      it != srv_.perClient.end() && --it->second <= 0)
    srv_.perClient.erase(it);
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  sock_.shutdown(tcp::socket::shutdown_both, ec);
  sock_.close(ec);
  idle_.cancel();
}

bool Session::full() const {
  return static_cast<int>(writes_.size()) + forwarding_ >= srv_.limits.maxPipelined;
}

void Session::armIdle() {
  idle_.expires_after(srv_.limits.idleTimeout);
  idle_.async_wait([w = weak_from_this()](error_code ec) {
    if (ec) return;
    if (auto s = w.lock()) s->close();
  });
}

void Session::readLength() {
  if (closed_ || reading_) return;
  armIdle();           // covers waiting for a query and a stalled peer
  if (full()) return;  // resumed when answers drain
  reading_ = true;
  asio::async_read(sock_, asio::buffer(len_), [self = shared_from_this()](error_code ec, size_t) {
    if (ec) return self->close();
    size_t len = get16(self->len_);
    if (len < kHeaderSize) return self->close();
    self->query_.resize(len);
    asio::async_read(self->sock_, asio::buffer(self->query_), [self](error_code ec2, size_t) {
      self->reading_ = false;
      if (ec2) return self->close();
      self->onBody();
    });
  });
}

void Session::onBody() {
  answer();
  readLength();
}

void Session::answer() {
  auto res = srv_.responder->respond(query_, true, srv_.scratch);
  if (res.action == Responder::Action::kReply && res.len)
    return queue({srv_.scratch.data(), res.len});
  if (res.action != Responder::Action::kForward || !srv_.forwarder) return;
  if (!srv_.policy.mayRecurse(peer_.data())) {
    // No open resolver: outside names only for the allowed networks.
    if (auto* c = srv_.responder->counters()) c->recursionRefused.inc();
    size_t n = writeErrorAnswer(srv_.cfg, query_, rcode::kRefused, srv_.scratch);
    if (n) queue({srv_.scratch.data(), n});
    return;
  }
  ++forwarding_;
  auto query = std::make_shared<std::vector<uint8_t>>(query_);
  // srv outlives the callback: DnsServer stops the forwarder before destroying it.
  srv_.forwarder->forward(
      query_, true, [w = weak_from_this(), query, &srv = srv_](std::span<const uint8_t> a) {
        std::vector<uint8_t> bytes(a.begin(), a.end());
        if (bytes.empty()) {
          srv.metrics.forwardFailed();
          bytes.resize(kMaxUdpPlain);
          bytes.resize(writeErrorAnswer(srv.cfg, *query, rcode::kServFail, bytes));
        }
        asio::post(srv.io, [w, bytes = std::move(bytes)] {
          auto s = w.lock();
          if (!s) return;
          --s->forwarding_;
          if (!bytes.empty()) s->queue(bytes);
          s->readLength();
        });
      });
}

void Session::queue(std::span<const uint8_t> msg) {
  if (closed_) return;
  std::vector<uint8_t> frame(2 + msg.size());
  put16(frame.data(), static_cast<uint16_t>(msg.size()));
  std::copy(msg.begin(), msg.end(), frame.begin() + 2);
  writes_.push_back(std::move(frame));
  if (!writing_) writeNext();
}

void Session::writeNext() {
  if (writes_.empty() || closed_) return;
  writing_ = true;
  asio::async_write(sock_, asio::buffer(writes_.front()),
                    [self = shared_from_this()](error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return self->close();
                      self->writes_.pop_front();
                      self->writeNext();
                      self->readLength();
                    });
}

}  // namespace

Result<std::unique_ptr<TcpServer>> TcpServer::create(const std::string& address, uint16_t port,
                                                     const AnswerConfig& cfg,
                                                     std::unique_ptr<Responder> responder,
                                                     Forwarder* forwarder, DnsMetrics& metrics,
                                                     TcpLimits limits, const ClientPolicy& policy) {
  auto s = std::make_unique<TcpServerImpl>(cfg, std::move(responder), forwarder, metrics, limits,
                                           policy);
  if (Status st = s->bind(address, port); !st.ok()) return st.error();
  return std::unique_ptr<TcpServer>(std::move(s));
}

}  // namespace cairn::dns
