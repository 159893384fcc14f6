#include "server/transport.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <mutex>
#include <thread>

#include "common/tls_test_support.hpp"

namespace cairn::server {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using tls::testing::Pki;

class Recorder final : public Transport::Handler {
 public:
  void onHello(const PeerHello& h) override {
    std::lock_guard lock(mu_);
    hellos_.push_back(h);
  }
  void onMessage(raft::Message m) override {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(m));
  }
  void onLink(const std::string& address, bool up) override {
    std::lock_guard lock(mu_);
    links_.emplace_back(address, up);
  }
  std::vector<std::pair<std::string, bool>> links() const {
    std::lock_guard lock(mu_);
    return links_;
  }
  size_t hellos() const {
    std::lock_guard lock(mu_);
    return hellos_.size();
  }
  size_t messages() const {
    std::lock_guard lock(mu_);
    return messages_.size();
  }
  std::vector<uint64_t> terms() const {
    std::lock_guard lock(mu_);
    std::vector<uint64_t> out;
    for (const auto& m : messages_) out.push_back(m.term);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<PeerHello> hellos_;
  std::vector<raft::Message> messages_;
  std::vector<std::pair<std::string, bool>> links_;
};

// Polls `pred` until it holds or 10 s pass.
template <typename P>
bool eventually(P pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// Reads from `s` until the connection fails or 5 s pass; returns the error
// (timed_out when the connection stayed open).
template <typename S>
boost::system::error_code readUntilClosed(asio::io_context& ioc, S& s) {
  boost::system::error_code result = asio::error::timed_out;
  std::array<char, 64> buf{};
  std::function<void()> next = [&] {
    s.async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, size_t) {
      if (ec) {
        result = ec;
        return ioc.stop();
      }
      next();
    });
  };
  next();
  ioc.restart();
  ioc.run_for(std::chrono::seconds(5));
  return result;
}

raft::Message appendMessage(raft::NodeId from, raft::NodeId to) {
  raft::Message m;
  m.type = raft::MsgType::kApp;
  m.from = from;
  m.to = to;
  m.term = 1;
  return m;
}

class TransportTlsTest : public ::testing::Test {
 protected:
  struct Node {
    Recorder handler;
    std::unique_ptr<Transport> transport;
    std::string address() const { return "127.0.0.1:" + std::to_string(transport->port()); }
  };

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("cairn_transport_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    pki = std::make_unique<Pki>(dir);
    caA = pki->makeCa("ca-a");
    caB = pki->makeCa("ca-b");
  }
  void TearDown() override {
    for (auto& n : nodes)
      if (n->transport) n->transport->stop();
    nodes.clear();
    std::filesystem::remove_all(dir);
  }

  tls::TlsConfig tlsFor(const std::string& ca, const std::string& issuer, const std::string& name) {
    auto f = pki->issue(issuer, name);
    tls::TlsConfig c;
    c.caFile = ca;
    c.certFile = f.cert;
    c.keyFile = f.key;
    return c;
  }

  // A transport with `tls` (plain TCP when unset) that says hello as `id`.
  Node& start(std::optional<tls::TlsConfig> tls, raft::NodeId id, uint16_t port = 0,
              std::chrono::milliseconds maxFrameAge = std::chrono::seconds(2)) {
    auto n = std::make_unique<Node>();
    Transport::Config cfg;
    cfg.port = port;
    cfg.maxFrameAge = maxFrameAge;
    cfg.tls = std::move(tls);
    cfg.handshakeTimeout = std::chrono::milliseconds(300);
    auto t = Transport::create(cfg, n->handler);
    EXPECT_TRUE(t.ok()) << t.error().message;
    n->transport = std::move(*t);
    PeerHello hello;
    hello.raftId = id;
    hello.address = n->address();
    hello.nodeName = "n" + std::to_string(id);
    n->transport->setHello(hello);
    nodes.push_back(std::move(n));
    return *nodes.back();
  }

  std::filesystem::path dir;
  std::unique_ptr<Pki> pki;
  std::string caA, caB;
  std::vector<std::unique_ptr<Node>> nodes;
};

TEST_F(TransportTlsTest, ServersWithCertificatesFromOneCaExchangeFrames) {
  Node& a = start(tlsFor(caA, "ca-a", "s1"), 1);
  Node& b = start(tlsFor(caA, "ca-a", "s2"), 2);
  a.transport->send(b.address(), appendMessage(1, 2));
  b.transport->send(a.address(), appendMessage(2, 1));
  EXPECT_TRUE(eventually([&] { return b.handler.messages() == 1 && a.handler.messages() == 1; }));
  EXPECT_EQ(a.handler.hellos(), 1u);
  EXPECT_EQ(b.handler.hellos(), 1u);
  for (Node* n : {&a, &b}) {
    auto s = n->transport->stats();
    EXPECT_EQ(s.inboundAccepted, 1u);
    EXPECT_EQ(s.inboundRefused, 0u);
    EXPECT_EQ(s.outboundRefused, 0u);
  }
}

TEST_F(TransportTlsTest, PeerWithCertificateFromAnotherCaIsRefusedBothWays) {
  Node& a = start(tlsFor(caA, "ca-a", "s1"), 1);
  // The rogue trusts both CAs, so each refusal below is `a`'s own check.
  auto both = pki->bundle("both.pem", {caA, caB});
  Node& rogue = start(tlsFor(both, "ca-b", "rogue"), 9);
  rogue.transport->send(a.address(), appendMessage(9, 1));
  EXPECT_TRUE(eventually([&] { return a.transport->stats().inboundRefused >= 1; }));
  a.transport->send(rogue.address(), appendMessage(1, 9));
  EXPECT_TRUE(eventually([&] { return a.transport->stats().outboundRefused >= 1; }));
  EXPECT_EQ(a.handler.hellos(), 0u);
  EXPECT_EQ(a.handler.messages(), 0u);
  EXPECT_EQ(rogue.handler.hellos(), 0u);
  EXPECT_EQ(a.transport->stats().inboundAccepted, 0u);
}

TEST_F(TransportTlsTest, PlainTcpPeerIsRefused) {
  Node& a = start(tlsFor(caA, "ca-a", "s1"), 1);
  Node& plain = start(std::nullopt, 7);
  plain.transport->send(a.address(), appendMessage(7, 1));
  EXPECT_TRUE(eventually([&] { return a.transport->stats().inboundRefused >= 1; }));
  // And the other way: a plain server gets no frame from a TLS one.
  a.transport->send(plain.address(), appendMessage(1, 7));
  EXPECT_TRUE(eventually([&] { return a.transport->stats().outboundRefused >= 1; }));
  EXPECT_EQ(a.handler.hellos(), 0u);
  EXPECT_EQ(plain.handler.hellos(), 0u);
  EXPECT_EQ(plain.handler.messages(), 0u);
}

TEST_F(TransportTlsTest, TlsPeerWithoutCertificateIsRefused) {
  Node& a = start(tlsFor(caA, "ca-a", "s1"), 1);
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls);
  ctx.load_verify_file(caA);
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<tcp::socket> s(ioc, ctx);
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), a.transport->port()));
  boost::system::error_code ec;
  s.handshake(ssl::stream_base::client, ec);  // TLS 1.3: done before the server decides
  PeerHello hello;
  hello.raftId = 5;
  hello.address = "127.0.0.1:1";
  if (!ec) asio::write(s, asio::buffer(encodeFrame(hello)), ec);
  EXPECT_TRUE(eventually([&] { return a.transport->stats().inboundRefused == 1; }));
  EXPECT_NE(readUntilClosed(ioc, s), asio::error::timed_out) << "the server must close it";
  EXPECT_EQ(a.handler.hellos(), 0u);
}

TEST_F(TransportTlsTest, SilentPeerIsDroppedAfterTheHandshakeTimeout) {
  Node& a = start(tlsFor(caA, "ca-a", "s1"), 1);
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), a.transport->port()));
  EXPECT_TRUE(eventually([&] { return a.transport->stats().inboundRefused == 1; }));
  EXPECT_EQ(readUntilClosed(ioc, s), asio::error::eof);
}

// A follower learns at once that its connection to the leader is gone
// (the leader process died: its sockets closed), so that the writes it had
// forwarded on it need not wait for their timeout.
TEST_F(TransportTlsTest, LinkGoesUpOnConnectAndDownWhenThePeerGoes) {
  for (bool withTls : {false, true}) {
    SCOPED_TRACE(withTls ? "tls" : "plain");
    Node& a = start(withTls ? std::optional(tlsFor(caA, "ca-a", "s1")) : std::nullopt, 1);
    Node& b = start(withTls ? std::optional(tlsFor(caA, "ca-a", "s2")) : std::nullopt, 2);
    const std::string bAddr = b.address();
    using Links = std::vector<std::pair<std::string, bool>>;
    EXPECT_TRUE(a.handler.links().empty());
    a.transport->send(bAddr, appendMessage(1, 2));
    EXPECT_TRUE(eventually([&] { return b.handler.messages() == 1; }));
    EXPECT_EQ(a.handler.links(), (Links{{bAddr, true}}));
    b.transport.reset();  // as a killed process: its sockets close
    EXPECT_TRUE(eventually([&] { return a.handler.links().size() == 2; }));
    EXPECT_EQ(a.handler.links(), (Links{{bAddr, true}, {bAddr, false}}));
  }
}

// Frames queued for a peer that is down (or not reading) are dropped once
// older than maxFrameAge instead of reaching it stale when it comes back;
// the hello, sent first on every connection, is never dropped.
TEST_F(TransportTlsTest, FramesQueuedLongerThanMaxFrameAgeAreDroppedNotSent) {
  Node& a = start(std::nullopt, 1, 0, std::chrono::milliseconds(200));
  Node& gone = start(std::nullopt, 2);
  const uint16_t port = gone.transport->port();
  const std::string bAddr = gone.address();
  gone.transport.reset();  // down: a's connections are refused
  for (int i = 0; i < 5; ++i) {
    auto m = appendMessage(1, 2);
    m.term = 1;
    a.transport->send(bAddr, m);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // they age past 200 ms
  Node& b = start(std::nullopt, 2, port);                       // back on the same address
  ASSERT_TRUE(eventually([&] { return !a.handler.links().empty(); }));
  auto fresh = appendMessage(1, 2);
  fresh.term = 2;
  a.transport->send(bAddr, fresh);
  // In order on one connection: had the old frames been sent, they came first.
  ASSERT_TRUE(eventually([&] { return b.handler.messages() >= 1; }));
  EXPECT_EQ(b.handler.terms(), std::vector<uint64_t>{2});
  EXPECT_GE(b.handler.hellos(), 1u);
}

TEST_F(TransportTlsTest, BadFilesFailCreateNamingTheFile) {
  Recorder h;
  Transport::Config cfg;
  cfg.tls = tlsFor(caA, "ca-a", "s1");
  cfg.tls->certFile = (dir / "nope.crt").string();
  auto t = Transport::create(cfg, h);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message, HasSubstr("server TLS: cert_file " + cfg.tls->certFile));
}

}  // namespace
}  // namespace cairn::server
