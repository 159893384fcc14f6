// Probes against real servers on loopback, started by the test (port 0).
#include "health/probe.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <future>
#include <thread>

namespace cairn::health {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using registry::HealthStatus;
using namespace std::chrono_literals;

// A one-thread HTTP/1.1 server that answers every request with `response`
// (raw bytes), or never answers when `response` is empty.
class TestServer {
 public:
  explicit TestServer(std::string response)
      : response_(std::move(response)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_; }
  const std::string& lastRequest() const { return last_; }

 private:
  struct Conn {
    explicit Conn(tcp::socket sock) : s(std::move(sock)) {}
    tcp::socket s;
    asio::streambuf buf;
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<Conn>(std::move(s));
      asio::async_read_until(
          c->s, c->buf, "\r\n\r\n", [this, c](boost::system::error_code ec2, size_t) {
            if (ec2) return;
            ++requests_;
            last_.assign(asio::buffers_begin(c->buf.data()), asio::buffers_end(c->buf.data()));
            if (response_.empty()) {
              held_.push_back(c);  // never answered
              return;
            }
            asio::async_write(c->s, asio::buffer(response_),
                              [c](boost::system::error_code, size_t) {
                                boost::system::error_code ignored;
                                c->s.shutdown(tcp::socket::shutdown_both, ignored);
                              });
          });
      accept();
    });
  }

  std::string response_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::shared_ptr<Conn>> held_;
  std::atomic<int> requests_{0};
  std::string last_;
};

// How a ProbeTest's prober runs: the close, and whether plain HTTP and TCP
// probes to IP literals go through io_uring.
struct ProbeMode {
  ProbeClose close = ProbeClose::kFin;
  bool ring = false;
};

// Runs the prober's io_context on a thread for the test's lifetime. Every
// test runs with both ways of closing (ProbeClose), through Asio sockets and
// through the io_uring ring: results must not differ.
class ProbeTest : public ::testing::TestWithParam<ProbeMode> {
 protected:
  void SetUp() override {
    ProberOptions opts;
    opts.close = GetParam().close;
    opts.ioUring = GetParam().ring;
    auto p = Prober::create(ioc_, opts);
    ASSERT_TRUE(p.ok()) << p.error().message;
    prober_ = std::move(*p);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    thread_.join();
  }

  template <typename Start>
  ProbeResult run(Start start) {
    std::promise<ProbeResult> p;
    auto f = p.get_future();
    start([&p](ProbeResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready);
    return f.get();
  }
  ProbeResult http(HttpProbeSpec spec) {
    return run([&](ProbeDone d) { prober_->http(spec, std::move(d)); });
  }
  ProbeResult tcpProbe(TcpProbeSpec spec) {
    return run([&](ProbeDone d) { prober_->tcp(spec, std::move(d)); });
  }
  ProbeResult script(ScriptProbeSpec spec) {
    return run([&](ProbeDone d) { prober_->script(spec, std::move(d)); });
  }

  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(ioc_)};
  std::unique_ptr<Prober> prober_;
  std::thread thread_;
};

std::string url(const TestServer& s, const std::string& path = "/health") {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

HttpProbeSpec httpSpec(std::string u, std::chrono::milliseconds timeout = kDefaultProbeTimeout) {
  HttpProbeSpec s;
  s.url = std::move(u);
  s.timeout = timeout;
  return s;
}

TcpProbeSpec tcpSpec(std::string a) {
  TcpProbeSpec s;
  s.address = std::move(a);
  return s;
}

ScriptProbeSpec scriptSpec(std::vector<std::string> args,
                           std::chrono::milliseconds timeout = kDefaultProbeTimeout) {
  ScriptProbeSpec s;
  s.args = std::move(args);
  s.timeout = timeout;
  return s;
}

uint16_t closedPort() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed when `a` goes
}

// One connection's target, in plain sockets, that records how the prober
// ended the connection: accepts one connection; as an HTTP target reads the
// request and answers (and, with `closeFirst`, then shuts down its side, as
// a server answering "Connection: close" does); then reads until the end:
// "fin" when recv returns 0, "reset" when it fails with ECONNRESET. Every
// wait is bounded (5 s): "timeout" then.
class EndingTarget {
 public:
  enum Kind { kTcp, kHttp };
  EndingTarget(Kind kind, bool closeFirst = false) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (lfd_ < 0 || ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(lfd_, 8) != 0 || ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      ADD_FAILURE() << "listen: " << strerror(errno);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, kind, closeFirst] { ending_ = serve(kind, closeFirst); });
  }
  ~EndingTarget() {
    if (thread_.joinable()) thread_.join();
    ::close(lfd_);
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // How the connection ended; waits for it.
  std::string ending() {
    if (thread_.joinable()) thread_.join();
    return ending_;
  }
  // Segments the target's end of the connection received: for an HTTP
  // target up to the end of the request, for a TCP target up to the end of
  // the connection. And the segments it sent again. After ending().
  unsigned segmentsIn() const { return segmentsIn_; }
  unsigned retransmits() const { return retransmits_; }

 private:
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }
  std::string serve(Kind kind, bool closeFirst) {
    if (!readable(lfd_)) return "timeout (accept)";
    int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return std::string("accept: ") + strerror(errno);
    std::string got;
    char buf[4096];
    if (kind == kHttp) {
      while (got.find("\r\n\r\n") == std::string::npos) {
        if (!readable(fd)) return ::close(fd), "timeout (request)";
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return ::close(fd), "request cut short";
        got.append(buf, static_cast<size_t>(n));
      }
      segmentsIn_ = tcpInfo(fd).segmentsIn;
      static constexpr std::string_view kAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      if (::send(fd, kAnswer.data(), kAnswer.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(kAnswer.size()))
        return ::close(fd), "answer not sent";
      if (closeFirst) ::shutdown(fd, SHUT_WR);
    }
    std::string ending;
    for (;;) {
      if (!readable(fd)) {
        ending = "timeout (end)";
        break;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) continue;  // nothing more is expected; keep reading to the end
      ending = n == 0 ? "fin" : errno == ECONNRESET ? "reset" : strerror(errno);
      break;
    }
    TcpCounts counts = tcpInfo(fd);
    if (kind == kTcp) segmentsIn_ = counts.segmentsIn;
    retransmits_ = counts.retransmits;
    ::close(fd);
    return ending;
  }
  struct TcpCounts {
    unsigned segmentsIn = 0;
    unsigned retransmits = 0;
  };
  // glibc's struct tcp_info stops before the kernel's tcpi_segs_in (RFC
  // 4898 SegsIn, Linux 4.2): read the kernel's layout as bytes.
  static TcpCounts tcpInfo(int fd) {
    static_assert(offsetof(tcp_info, tcpi_total_retrans) == 100);
    constexpr size_t kSegsIn = 140;  // after 4 u64 rates/counters and tcpi_segs_out
    unsigned char info[256]{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &len) != 0 || len < kSegsIn + 4) {
      ADD_FAILURE() << "TCP_INFO: " << strerror(errno) << ", " << len << " bytes";
      return {};
    }
    TcpCounts c;
    uint32_t v = 0;
    std::memcpy(&v, info + kSegsIn, sizeof v);
    c.segmentsIn = v;
    std::memcpy(&v, info + offsetof(tcp_info, tcpi_total_retrans), sizeof v);
    c.retransmits = v;
    return c;
  }

  int lfd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string ending_;
  unsigned segmentsIn_ = 0;
  unsigned retransmits_ = 0;
};

std::string endingOf(ProbeClose c) {
  return c == ProbeClose::kReset ? "reset" : "fin";
}

TEST(ParseProbeClose, FinOrReset) {
  EXPECT_EQ(parseProbeClose("fin"), ProbeClose::kFin);
  EXPECT_EQ(parseProbeClose("reset"), ProbeClose::kReset);
  EXPECT_EQ(parseProbeClose("rst"), std::nullopt);
  EXPECT_EQ(parseProbeClose(""), std::nullopt);
}

TEST(HttpStatusOf, ConsulRules) {
  EXPECT_EQ(httpStatusOf(200), HealthStatus::kPassing);
  EXPECT_EQ(httpStatusOf(204), HealthStatus::kPassing);
  EXPECT_EQ(httpStatusOf(299), HealthStatus::kPassing);
  EXPECT_EQ(httpStatusOf(429), HealthStatus::kWarning);
  EXPECT_EQ(httpStatusOf(301), HealthStatus::kCritical);
  EXPECT_EQ(httpStatusOf(404), HealthStatus::kCritical);
  EXPECT_EQ(httpStatusOf(500), HealthStatus::kCritical);
}

TEST_P(ProbeTest, Http200IsPassingWithStatusLineAndBody) {
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kPassing);
  EXPECT_EQ(r.output, "HTTP GET " + url(s) + ": 200 OK Output: hello");
}

TEST_P(ProbeTest, Http429IsWarning) {
  TestServer s("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(http(httpSpec(url(s))).status, HealthStatus::kWarning);
}

TEST_P(ProbeTest, Http500IsCritical) {
  TestServer s("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops");
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("500 Internal Server Error Output: oops"), std::string::npos);
}

TEST_P(ProbeTest, HttpSendsMethodHeadersAndBody) {
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  HttpProbeSpec spec = httpSpec(url(s, "/x?y=1"));
  spec.method = "POST";
  spec.header["X-Token"] = {"abc"};
  spec.body = "ping";
  EXPECT_EQ(http(spec).status, HealthStatus::kPassing);
  EXPECT_EQ(s.lastRequest().rfind("POST /x?y=1 HTTP/1.1\r\n", 0), 0u) << s.lastRequest();
  EXPECT_NE(s.lastRequest().find("X-Token: abc\r\n"), std::string::npos);
  EXPECT_NE(s.lastRequest().find("Content-Length: 4\r\n"), std::string::npos);
}

TEST_P(ProbeTest, HttpOutputIsCappedAt4KiB) {
  std::string body(100000, 'x');
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
               body);
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kPassing);
  EXPECT_EQ(r.output.size(), kMaxOutputBytes);
}

TEST_P(ProbeTest, HttpBodyEndingWithTheConnection) {
  TestServer s("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbye");
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kPassing);
  EXPECT_NE(r.output.find("Output: bye"), std::string::npos) << r.output;
}

TEST_P(ProbeTest, HttpChunkedBodyIsDecoded) {
  TestServer s(
      "HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nslow \r\n4\r\ndown\r\n0\r\n\r\n");
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kWarning);
  EXPECT_EQ(r.output, "HTTP GET " + url(s) + ": 429 Too Many Requests Output: slow down");
}

TEST_P(ProbeTest, HttpManyHeaderFieldsAreSkipped) {
  std::string fields;
  for (int i = 0; i < 200; ++i) fields += "X-Field-" + std::to_string(i) + ": some value\r\n";
  TestServer s("HTTP/1.1 204 No Content\r\n" + fields + "Content-Length: 0\r\n\r\n");
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kPassing);
  EXPECT_EQ(r.output, "HTTP GET " + url(s) + ": 204 No Content");
}

TEST_P(ProbeTest, HttpHeaderOverTheLimitIsCritical) {
  std::string big(20000, 'a');
  TestServer s("HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 0\r\n\r\n");
  auto r = http(httpSpec(url(s)));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("header limit"), std::string::npos) << r.output;
}

TEST_P(ProbeTest, HttpConnectionClosedBeforeAnyAnswerIsCritical) {
  // Reads the request, then closes without a byte of answer.
  asio::io_context sioc;
  tcp::acceptor acc(sioc, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread server([&] {
    tcp::socket sock(sioc);
    acc.accept(sock);
    asio::streambuf buf;
    boost::system::error_code ec;
    asio::read_until(sock, buf, "\r\n\r\n", ec);
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  });
  auto r = http(httpSpec("http://127.0.0.1:" + std::to_string(acc.local_endpoint().port()) + "/"));
  server.join();
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("end of stream"), std::string::npos) << r.output;
  TestServer half("HTTP/1.1 200 O");
  auto h = http(httpSpec(url(half)));
  EXPECT_EQ(h.status, HealthStatus::kCritical);
  EXPECT_NE(h.output.find("partial message"), std::string::npos) << h.output;
}

TEST_P(ProbeTest, HttpRefusedIsCritical) {
  auto r = http(httpSpec("http://127.0.0.1:" + std::to_string(closedPort()) + "/"));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("refused"), std::string::npos) << r.output;
}

TEST_P(ProbeTest, HttpTimeoutIsCritical) {
  TestServer s("");  // accepts, reads, never answers
  auto t0 = std::chrono::steady_clock::now();
  auto r = http(httpSpec(url(s), 200ms));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("timed out after 200ms"), std::string::npos) << r.output;
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
}

TEST_P(ProbeTest, HttpBadUrlIsCritical) {
  EXPECT_EQ(http(httpSpec("ftp://x/")).status, HealthStatus::kCritical);
}

TEST_P(ProbeTest, HttpsToAPlainServerIsCritical) {
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  auto spec = httpSpec("https://127.0.0.1:" + std::to_string(s.port()) + "/", 2s);
  spec.tlsSkipVerify = true;
  auto r = http(spec);
  EXPECT_EQ(r.status, HealthStatus::kCritical);
}

TEST_P(ProbeTest, ManyProbesInFlightOnOneThread) {
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  constexpr int kN = 200;
  std::atomic<int> passing{0}, finished{0};
  std::promise<void> all;
  for (int i = 0; i < kN; ++i)
    prober_->http(httpSpec(url(s)), [&](ProbeResult r) {
      if (r.status == HealthStatus::kPassing) ++passing;
      if (++finished == kN) all.set_value();
    });
  ASSERT_EQ(all.get_future().wait_for(30s), std::future_status::ready);
  EXPECT_EQ(passing, kN);
  EXPECT_EQ(s.requests(), kN);  // a new connection and request per probe
}

TEST_P(ProbeTest, TcpConnectPassingAndRefused) {
  TestServer s("");
  auto ok = tcpProbe(tcpSpec("127.0.0.1:" + std::to_string(s.port())));
  EXPECT_EQ(ok.status, HealthStatus::kPassing);
  EXPECT_EQ(ok.output, "TCP connect 127.0.0.1:" + std::to_string(s.port()) + ": Success");
  auto bad = tcpProbe(tcpSpec("127.0.0.1:" + std::to_string(closedPort())));
  EXPECT_EQ(bad.status, HealthStatus::kCritical);
  EXPECT_EQ(tcpProbe(tcpSpec("no-port")).status, HealthStatus::kCritical);
}

// IP literals are connected to directly; a host name goes through the
// resolver and every address it returns (localhost may be ::1 first).
TEST_P(ProbeTest, HostNamesGoThroughTheResolver) {
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto h = http(httpSpec("http://localhost:" + std::to_string(s.port()) + "/health"));
  EXPECT_EQ(h.status, HealthStatus::kPassing) << h.output;
  auto t = tcpProbe(tcpSpec("localhost:" + std::to_string(s.port())));
  EXPECT_EQ(t.status, HealthStatus::kPassing) << t.output;
  auto bad = tcpProbe(tcpSpec("localhost:" + std::to_string(closedPort())));
  EXPECT_EQ(bad.status, HealthStatus::kCritical);
}

TEST_P(ProbeTest, ScriptExitCodes) {
  auto p = script(scriptSpec({"/bin/sh", "-c", "echo fine; exit 0"}));
  EXPECT_EQ(p.status, HealthStatus::kPassing);
  EXPECT_EQ(p.output, "fine\n");
  auto w = script(scriptSpec({"/bin/sh", "-c", "echo slow >&2; exit 1"}));
  EXPECT_EQ(w.status, HealthStatus::kWarning);
  EXPECT_EQ(w.output, "slow\n");
  EXPECT_EQ(script(scriptSpec({"/bin/sh", "-c", "exit 2"})).status, HealthStatus::kCritical);
  EXPECT_EQ(script(scriptSpec({"/nonexistent/check"})).status, HealthStatus::kCritical);
}

TEST_P(ProbeTest, ScriptKilledAtTimeout) {
  auto t0 = std::chrono::steady_clock::now();
  // The child's own child holds the pipe too: the whole group must go.
  auto r = script(scriptSpec({"/bin/sh", "-c", "sleep 30 & sleep 30"}, 200ms));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("Timed out (200ms)"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_P(ProbeTest, ScriptOutputCapped) {
  auto r = script(scriptSpec({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}));
  EXPECT_EQ(r.status, HealthStatus::kPassing);
  EXPECT_EQ(r.output.size(), kMaxOutputBytes);
}

// The probe has read the whole answer before it closes, so the result is the
// same either way; the target sees a FIN or an RST as configured.
TEST_P(ProbeTest, HttpConnectionEndsAsConfigured) {
  for (bool closeFirst : {false, true}) {
    EndingTarget t(EndingTarget::kHttp, closeFirst);
    std::string u = "http://" + t.address() + "/health";
    auto r = http(httpSpec(u, 5s));
    EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;
    EXPECT_EQ(r.output, "HTTP GET " + u + ": 200 OK Output: ok");
    EXPECT_EQ(t.ending(), endingOf(GetParam().close)) << "target closed first: " << closeFirst;
  }
}

TEST_P(ProbeTest, TcpConnectionEndsAsConfigured) {
  EndingTarget t(EndingTarget::kTcp);
  auto r = tcpProbe(tcpSpec(t.address()));
  EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;
  EXPECT_EQ(r.output, "TCP connect " + t.address() + ": Success");
  EXPECT_EQ(t.ending(), endingOf(GetParam().close));
}

// A ring probe delays the handshake's last ACK so that it rides on the
// request (HTTP) or on the FIN (TCP, closed with a FIN): the target receives
// SYN and request (or SYN and FIN), not SYN, ACK and request. The answer is
// acknowledged at once again (no retransmission by the target while the
// prober has not yet read it). Epoll probes, and TCP probes that reset (the
// target must see the connection before the RST), keep the plain handshake.
TEST_P(ProbeTest, RingProbesSaveTheHandshakeAck) {
  for (bool closeFirst : {false, true}) {
    EndingTarget t(EndingTarget::kHttp, closeFirst);
    auto r = http(httpSpec("http://" + t.address() + "/health", 5s));
    EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;
    EXPECT_EQ(t.ending(), endingOf(GetParam().close));
    EXPECT_EQ(t.segmentsIn(), GetParam().ring ? 2u : 3u) << "target closed first: " << closeFirst;
    EXPECT_EQ(t.retransmits(), 0u) << "target closed first: " << closeFirst;
  }
  EndingTarget t(EndingTarget::kTcp);
  auto r = tcpProbe(tcpSpec(t.address()));
  EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;
  EXPECT_EQ(t.ending(), endingOf(GetParam().close));
  bool saved = GetParam().ring && GetParam().close == ProbeClose::kFin;
  EXPECT_EQ(t.segmentsIn(), saved ? 2u : 3u);  // SYN [ACK] FIN, or SYN ACK RST
}

// With the ring asked for, plain HTTP and TCP probes to IP literals go
// through it (this kernel has io_uring; a kernel without it would fall back
// to Asio sockets, with the same results); HTTPS and host names do not.
TEST_P(ProbeTest, PlainProbesGoThroughTheRingWhenAsked) {
  TestServer s("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  EXPECT_EQ(http(httpSpec(url(s))).status, HealthStatus::kPassing);
  EXPECT_EQ(tcpProbe(tcpSpec("127.0.0.1:" + std::to_string(s.port()))).status,
            HealthStatus::kPassing);
  uint64_t expected = GetParam().ring ? 2 : 0;
  EXPECT_EQ(prober_->ioUringProbes(), expected);
  EXPECT_EQ(http(httpSpec("http://localhost:" + std::to_string(s.port()) + "/h")).status,
            HealthStatus::kPassing);
  EXPECT_EQ(prober_->ioUringProbes(), expected);  // a host name: through the resolver
}

// Many ring probes at once, some to a closed port and some to a silent
// target past their timeout, end each with its own result.
TEST_P(ProbeTest, ManyProbesAtOnceEachGetTheirResult) {
  TestServer ok("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  TestServer silent("");  // accepts, reads, never answers
  uint16_t closed = closedPort();
  constexpr int kEach = 50;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, passing = 0, refused = 0, timedOut = 0;
  auto count = [&](ProbeResult r) {
    std::lock_guard lk(mu);
    if (r.status == HealthStatus::kPassing) ++passing;
    if (r.output.find("Connection refused") != std::string::npos) ++refused;
    if (r.output.find("timed out after 300ms") != std::string::npos) ++timedOut;
    ++done;
    cv.notify_all();
  };
  for (int i = 0; i < kEach; ++i) {
    prober_->http(httpSpec(url(ok)), count);
    prober_->http(httpSpec("http://127.0.0.1:" + std::to_string(closed) + "/", 2s), count);
    prober_->http(httpSpec(url(silent), 300ms), count);
  }
  std::unique_lock lk(mu);
  ASSERT_TRUE(cv.wait_for(lk, 20s, [&] { return done == 3 * kEach; })) << done;
  EXPECT_EQ(passing, kEach);
  EXPECT_EQ(refused, kEach);
  EXPECT_EQ(timedOut, kEach);
}

// Where io_uring is not allowed (a seccomp filter, as some container
// runtimes have, or an old kernel), a prober asked to use it probes through
// Asio sockets, with the same results. Run in a child process that denies
// io_uring_setup to itself.
TEST(ProbeRingFallbackTest, WithoutIoUringProbesGoThroughEpoll) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
      _exit(10);
    asio::io_context ioc;
    tcp::acceptor listener(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    ProberOptions opts;
    opts.ioUring = true;
    auto prober = Prober::create(ioc, opts);
    if (!prober.ok()) _exit(11);
    std::optional<ProbeResult> got;
    (*prober)->tcp(tcpSpec("127.0.0.1:" + std::to_string(listener.local_endpoint().port())),
                   [&](ProbeResult r) { got = std::move(r); });
    ioc.run_for(5s);
    if (!got) _exit(12);
    if (got->status != HealthStatus::kPassing) _exit(13);
    if ((*prober)->ioUringProbes() != 0) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  // 10: seccomp refused, 11: no prober, 12: no result, 13: not passing,
  // 14: went through the ring all the same.
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

INSTANTIATE_TEST_SUITE_P(
    BothCloses, ProbeTest,
    ::testing::Values(ProbeMode{ProbeClose::kFin, false}, ProbeMode{ProbeClose::kReset, false},
                      ProbeMode{ProbeClose::kFin, true}, ProbeMode{ProbeClose::kReset, true}),
    [](const ::testing::TestParamInfo<ProbeMode>& i) {
      return std::string(i.param.close == ProbeClose::kReset ? "Reset" : "Fin") +
             (i.param.ring ? "Uring" : "");
    });

}  // namespace
}  // namespace cairn::health
