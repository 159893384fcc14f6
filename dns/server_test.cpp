// DnsServer over real loopback sockets (port 0): UDP, TCP pipelining, idle
// timeout, connection limit, and forwarding to an in-test upstream.
#include "dns/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "dns/answer_parse_test_util.hpp"
#include "dns/test_util.hpp"

namespace cairn::dns {
namespace {

using namespace std::chrono_literals;
using testing::makeQuery;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Sends one UDP query and waits up to 3 s for the answer.
std::vector<uint8_t> udpAsk(uint16_t port, const std::vector<uint8_t>& q) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto a = loopback(port);
  ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{fd, POLLIN, 0};
  std::vector<uint8_t> buf(65535);
  ssize_t n = ::poll(&p, 1, 3000) == 1 ? ::recv(fd, buf.data(), buf.size(), 0) : -1;
  ::close(fd);
  buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return buf;
}

int tcpConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

bool readFull(int fd, uint8_t* p, size_t n) {
  while (n) {
    ssize_t k = ::recv(fd, p, n, 0);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

std::vector<uint8_t> tcpRead(int fd) {
  uint8_t len[2];
  if (!readFull(fd, len, 2)) return {};
  std::vector<uint8_t> m(get16(len));
  if (!readFull(fd, m.data(), m.size())) return {};
  return m;
}

std::vector<uint8_t> frame(const std::vector<uint8_t>& q) {
  std::vector<uint8_t> f(2 + q.size());
  put16(f.data(), static_cast<uint16_t>(q.size()));
  std::copy(q.begin(), q.end(), f.begin() + 2);
  return f;
}

// A stand-in recursor on 127.0.0.1:0 (UDP): answers every query with one A
// record 192.0.2.7, unless `silent`.
class Upstream {
 public:
  explicit Upstream(bool silent) : silent_(silent) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    auto a = loopback(0);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t l = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &l);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Upstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int seen() const { return seen_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      uint8_t b[1500];
      sockaddr_in from{};
      socklen_t fl = sizeof from;
      ssize_t n = ::recvfrom(fd_, b, sizeof b, 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 12) continue;
      ++seen_;
      if (silent_) continue;
      std::vector<uint8_t> r(b, b + n);
      r[2] |= 0x80;  // QR
      r[3] = 0x80;   // RA
      put16(r.data() + 6, 1);
      put16(r.data() + 10, 0);
      // Drop any OPT: keep header + question only (question ends 4 after the name).
      size_t pos = 12;
      while (r[pos]) pos += 1 + r[pos];
      r.resize(pos + 5);
      const uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7};
      r.insert(r.end(), rr, rr + sizeof rr);
      ::sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  bool silent_;
  int fd_;
  uint16_t port_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> seen_{0};
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cat.instance("n1", "10.0.0.1", "web", "web-1", 80);
    opts.port = 0;
    opts.udpWorkers = 2;
    opts.seed = 5;
  }
  void start() {
    auto s = DnsServer::create(opts, cat.hub(), &loads, &metrics);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server = std::move(*s);
  }
  testing::TestCatalog cat;
  LoadTable loads;
  DnsMetrics metrics;
  DnsOptions opts;
  std::unique_ptr<DnsServer> server;
};

TEST_F(ServerTest, UdpAnswers) {
  start();
  auto a = testing::parseAnswer(udpAsk(server->port(), makeQuery("web.service.cairn", type::kA)));
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.answer, (std::vector<std::string>{"web.service.cairn. 0 IN A 10.0.0.1"}));
  EXPECT_GE(server->stats().counters.queries[0], 1u);
}

TEST_F(ServerTest, TcpPipelinesSeveralQueriesOnOneConnection) {
  start();
  int fd = tcpConnect(server->port());
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> all;
  for (uint16_t id = 1; id <= 3; ++id) {
    auto f = frame(makeQuery("web.service.cairn", type::kSrv, 0, id));
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_EQ(::send(fd, all.data(), all.size(), 0), static_cast<ssize_t>(all.size()));
  for (uint16_t id = 1; id <= 3; ++id) {
    auto a = testing::parseAnswer(tcpRead(fd));
    ASSERT_TRUE(a.ok);
    EXPECT_EQ(a.id, id);
    EXPECT_EQ(a.answer.size(), 1u);
  }
  ::close(fd);
}

TEST_F(ServerTest, TcpIdleConnectionsAreClosed) {
  opts.tcpIdleTimeout = 200ms;
  start();
  int fd = tcpConnect(server->port());
  ASSERT_GE(fd, 0);
  uint8_t b;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(::recv(fd, &b, 1, 0), 0);  // EOF, well before the 3 s receive timeout
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  ::close(fd);
}

TEST_F(ServerTest, TcpConnectionLimit) {
  opts.maxTcpConnections = 2;
  start();
  int a = tcpConnect(server->port()), b = tcpConnect(server->port());
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  auto q = frame(makeQuery("web.service.cairn", type::kA));
  ::send(a, q.data(), q.size(), 0);
  ASSERT_FALSE(tcpRead(a).empty());  // a is being served
  int c = tcpConnect(server->port());
  ASSERT_GE(c, 0);
  uint8_t x;
  EXPECT_EQ(::recv(c, &x, 1, 0), 0);  // closed at once
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST_F(ServerTest, ForwardsOutsideNamesToRecursor) {
  Upstream up(false);
  opts.recursors = {"127.0.0.1:" + std::to_string(up.port())};
  start();
  auto a =
      testing::parseAnswer(udpAsk(server->port(), makeQuery("www.example.com", type::kA, 0, 99)));
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.id, 99);
  EXPECT_EQ(a.rcode, 0);
  EXPECT_EQ(a.answer, (std::vector<std::string>{"www.example.com. 60 IN A 192.0.2.7"}));
  EXPECT_EQ(up.seen(), 1);
  // Our own names are still answered here, with RA set.
  a = testing::parseAnswer(udpAsk(server->port(), makeQuery("web.service.cairn", type::kA)));
  EXPECT_TRUE(a.ra);
  EXPECT_TRUE(a.aa);
}

TEST_F(ServerTest, ForwardTimeoutIsServfail) {
  Upstream up(true);
  opts.recursors = {"127.0.0.1:" + std::to_string(up.port())};
  opts.recursorTimeout = 300ms;
  start();
  auto t0 = std::chrono::steady_clock::now();
  auto a = testing::parseAnswer(udpAsk(server->port(), makeQuery("www.example.com", type::kA)));
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.rcode, rcode::kServFail);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // Over TCP too.
  int fd = tcpConnect(server->port());
  auto q = frame(makeQuery("www.example.org", type::kA));
  ::send(fd, q.data(), q.size(), 0);
  a = testing::parseAnswer(tcpRead(fd));
  ::close(fd);
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.rcode, rcode::kServFail);
}

TEST_F(ServerTest, CountersByTransportWithForwardingAndDrops) {
  Upstream up(true);  // silent: the forwarded query fails
  opts.recursors = {"127.0.0.1:" + std::to_string(up.port())};
  opts.recursorTimeout = 300ms;
  start();
  ASSERT_EQ(
      testing::parseAnswer(udpAsk(server->port(), makeQuery("web.service.cairn", type::kA))).rcode,
      0);
  ASSERT_EQ(
      testing::parseAnswer(udpAsk(server->port(), makeQuery("www.example.com", type::kA))).rcode,
      rcode::kServFail);
  int fd = tcpConnect(server->port());
  auto q = frame(makeQuery("nope.service.cairn", type::kSrv));
  ::send(fd, q.data(), q.size(), 0);
  ASSERT_EQ(testing::parseAnswer(tcpRead(fd)).rcode, rcode::kNxDomain);
  ::close(fd);
  // An oversized datagram, then a query from the same socket: one worker
  // takes both, in order, so the drop is counted once the answer is back.
  int u = ::socket(AF_INET, SOCK_DGRAM, 0);
  auto a = loopback(server->port());
  std::vector<uint8_t> big(5000, 0);
  ::sendto(u, big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  auto good = makeQuery("web.service.cairn", type::kAaaa);
  ::sendto(u, good.data(), good.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  pollfd p{u, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1);
  ::close(u);

  auto t = server->stats().counters;
  EXPECT_EQ(t.queries[0], 4u);
  EXPECT_EQ(t.queries[1], 1u);
  EXPECT_EQ(t.qtypes[qtypeSlot(type::kA)], 2u);
  EXPECT_EQ(t.qtypes[qtypeSlot(type::kAaaa)], 1u);
  EXPECT_EQ(t.qtypes[qtypeSlot(type::kSrv)], 1u);
  EXPECT_EQ(t.rcodes[rcodeSlot(rcode::kNoError)], 2u);  // the A, and the AAAA (NODATA)
  EXPECT_EQ(t.rcodes[rcodeSlot(rcode::kNxDomain)], 1u);
  EXPECT_EQ(t.rcodes[rcodeSlot(rcode::kServFail)], 0u);  // relayed failures are counted apart
  EXPECT_EQ(t.forwarded, 1u);
  EXPECT_EQ(t.forwardFailures, 1u);
  EXPECT_EQ(t.dropped, 1u);
  EXPECT_EQ(t.malformed, 0u);
  std::string text;
  metrics.render(text);
  EXPECT_NE(text.find("cairn_dns_queries_total{transport=\"udp\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cairn_dns_query_types_total{qtype=\"SRV\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("cairn_dns_forward_failures_total 1\n"), std::string::npos);
}

TEST_F(ServerTest, BadConfigIsRefused) {
  opts.address = "not-an-ip";
  EXPECT_FALSE(DnsServer::create(opts, cat.hub(), &loads).ok());
  opts.address = "127.0.0.1";
  opts.recursors = {"bogus:x:y"};
  EXPECT_FALSE(DnsServer::create(opts, cat.hub(), &loads).ok());
}

}  // namespace
}  // namespace cairn::dns
