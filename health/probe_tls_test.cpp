// HTTPS probes against a TLS server started by the test, with a throwaway
// CA that the system trust store does not know.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "common/tls_test_support.hpp"
#include "health/probe.hpp"

namespace cairn::health {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using registry::HealthStatus;
using namespace std::chrono_literals;

class TlsServer {
 public:
  TlsServer(const std::string& cert, const std::string& key)
      : ctx_(ssl::context::tls_server), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, ssl::context::pem);
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsServer() {
    ioc_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct Conn {
    Conn(tcp::socket s, ssl::context& c) : stream(std::move(s), c) {}
    ssl::stream<tcp::socket> stream;
    asio::streambuf buf;
  };
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      auto c = std::make_shared<Conn>(std::move(s), ctx_);
      c->stream.async_handshake(ssl::stream_base::server, [c](boost::system::error_code ec2) {
        if (ec2) return;
        asio::async_read_until(
            c->stream, c->buf, "\r\n\r\n", [c](boost::system::error_code ec3, size_t) {
              if (ec3) return;
              static const std::string kResponse =
                  "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure";
              asio::async_write(c->stream, asio::buffer(kResponse),
                                [c](boost::system::error_code, size_t) {
                                  c->stream.async_shutdown([c](boost::system::error_code) {});
                                });
            });
      });
      accept();
    });
  }

  asio::io_context ioc_;
  ssl::context ctx_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

class HttpsProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-health-tls-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl));
    dir_ = tmpl;
    tls::testing::Pki pki(dir_);
    pki.makeCa("ca");
    auto leaf = pki.issue("ca", "server");
    server_ = std::make_unique<TlsServer>(leaf.cert, leaf.key);
    auto p = Prober::create(ioc_);
    ASSERT_TRUE(p.ok());
    prober_ = std::move(*p);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  ProbeResult probe(HttpProbeSpec spec) {
    std::promise<ProbeResult> p;
    auto f = p.get_future();
    prober_->http(std::move(spec), [&p](ProbeResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready);
    return f.get();
  }
  HttpProbeSpec spec(const std::string& host) {
    HttpProbeSpec s;
    s.url = "https://" + host + ":" + std::to_string(server_->port()) + "/";
    s.timeout = 5s;
    return s;
  }

  std::filesystem::path dir_;
  std::unique_ptr<TlsServer> server_;
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(ioc_)};
  std::unique_ptr<Prober> prober_;
  std::thread thread_;
};

TEST_F(HttpsProbeTest, SkipVerifyAcceptsAnUnknownCa) {
  auto s = spec("127.0.0.1");
  s.tlsSkipVerify = true;
  s.tlsServerName = "localhost";
  auto r = probe(s);
  EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;
  EXPECT_NE(r.output.find("200 OK Output: secure"), std::string::npos) << r.output;
}

TEST_F(HttpsProbeTest, VerifyRefusesAnUnknownCa) {
  auto s = spec("localhost");
  auto r = probe(s);
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("certificate verify failed"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cairn::health
