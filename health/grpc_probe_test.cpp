// gRPC probes over real sockets: against a real, independent gRPC server
// (tests/e2e/grpc_health_server.py on Debian's python3-grpcio, run as a child
// process), plaintext and TLS, and against peers that fail in the ways a
// probe must survive (nothing listening, silence, HTTP/1.1).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "common/tls_test_support.hpp"
#include "health/probe.hpp"

extern char** environ;

namespace cairn::health {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using registry::HealthStatus;
using namespace std::chrono_literals;

// The Python gRPC server as a child process: `args` are its command line
// (see grpc_health_server.py). It serves until its stdin is closed.
class PythonGrpcServer {
 public:
  explicit PythonGrpcServer(std::vector<std::string> args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<std::string> argv = {"/usr/bin/python3", CAIRN_GRPC_TEST_SERVER};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int rc = posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    if (rc != 0) {
      close(out[0]);
      throw std::runtime_error("cannot start the python gRPC server");
    }
    // "port N\n", within 30 s (grpcio's import is slow on a loaded machine).
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 500) <= 0) continue;
      char buf[64];
      ssize_t n = read(out[0], buf, sizeof(buf));
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    if (line.rfind("port ", 0) != 0) throw std::runtime_error("python gRPC server: " + line);
    port_ = std::stoi(line.substr(5));
  }
  ~PythonGrpcServer() {
    close(stdin_);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(50ms);
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = 0;
  int stdin_ = -1;
  int port_ = 0;
};

// A listener on loopback that accepts and then either says nothing or
// answers every connection with fixed bytes.
class RawServer {
 public:
  explicit RawServer(std::string reply = "")
      : reply_(std::move(reply)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~RawServer() {
    ioc_.stop();
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      auto conn = std::make_shared<tcp::socket>(std::move(s));
      held_.push_back(conn);
      if (!reply_.empty())
        asio::async_write(*conn, asio::buffer(reply_), [conn](boost::system::error_code, size_t) {
          boost::system::error_code ignored;
          conn->shutdown(tcp::socket::shutdown_send, ignored);
        });
      accept();
    });
  }

  std::string reply_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> held_;
  std::thread thread_;
};

class GrpcProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Prober::create(ioc_);
    ASSERT_TRUE(p.ok()) << p.error().message;
    prober_ = std::move(*p);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    work_.reset();
    thread_.join();
  }

  ProbeResult probe(GrpcProbeSpec spec) {
    std::promise<ProbeResult> p;
    auto f = p.get_future();
    prober_->grpc(std::move(spec), [&p](ProbeResult r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(20s), std::future_status::ready);
    return f.get();
  }
  static GrpcProbeSpec spec(int port, const std::string& service = "",
                            std::chrono::milliseconds timeout = 5s) {
    GrpcProbeSpec s;
    s.target = "127.0.0.1:" + std::to_string(port) + (service.empty() ? "" : "/" + service);
    s.timeout = timeout;
    return s;
  }

  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      asio::make_work_guard(ioc_)};
  std::unique_ptr<Prober> prober_;
  std::thread thread_;
};

TEST_F(GrpcProbeTest, FollowsTheServingStatusOfARealGrpcServer) {
  PythonGrpcServer server({"=SERVING", "web=SERVING", "db=NOT_SERVING", "cache=UNKNOWN"});
  auto r = probe(spec(server.port()));
  EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;
  EXPECT_EQ(r.output, "gRPC check 127.0.0.1:" + std::to_string(server.port()) + ": success");

  r = probe(spec(server.port(), "web"));
  EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;

  r = probe(spec(server.port(), "db"));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find(": serving status NOT_SERVING"), std::string::npos) << r.output;

  r = probe(spec(server.port(), "cache"));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find(": serving status UNKNOWN"), std::string::npos) << r.output;

  // The server answers an unknown service with grpc-status NOT_FOUND.
  r = probe(spec(server.port(), "nope"));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("rpc error: code = NotFound desc = unknown service"), std::string::npos)
      << r.output;
}

TEST_F(GrpcProbeTest, TlsWithAlpnAgainstARealGrpcServer) {
  char tmpl[] = "/tmp/cairn-grpc-tls-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::filesystem::path dir = tmpl;
  tls::testing::Pki pki(dir);
  pki.makeCa("ca");
  auto leaf = pki.issue("ca", "server");
  {
    PythonGrpcServer server({"--tls", leaf.cert, leaf.key, "web=SERVING"});
    auto s = spec(server.port(), "web");
    s.useTls = true;
    s.tlsSkipVerify = true;
    s.tlsServerName = "localhost";
    auto r = probe(s);
    EXPECT_EQ(r.status, HealthStatus::kPassing) << r.output;

    // Verifying: the throwaway CA is not in the system store.
    s.tlsSkipVerify = false;
    r = probe(s);
    EXPECT_EQ(r.status, HealthStatus::kCritical);
    EXPECT_NE(r.output.find("certificate verify failed"), std::string::npos) << r.output;

    // Plaintext HTTP/2 to a TLS port.
    r = probe(spec(server.port(), "web"));
    EXPECT_EQ(r.status, HealthStatus::kCritical) << r.output;
    EXPECT_NE(r.output.find("GRPCUseTLS"), std::string::npos) << r.output;
  }
  {
    // TLS to a plaintext port.
    PythonGrpcServer server({"web=SERVING"});
    auto s = spec(server.port(), "web");
    s.useTls = true;
    s.tlsSkipVerify = true;
    auto r = probe(s);
    EXPECT_EQ(r.status, HealthStatus::kCritical) << r.output;
    EXPECT_NE(r.output.find("TLS handshake: "), std::string::npos) << r.output;
  }
  std::filesystem::remove_all(dir);
}

TEST_F(GrpcProbeTest, NothingListeningIsCritical) {
  int port;
  {
    RawServer gone;
    port = gone.port();
  }
  auto r = probe(spec(port));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("Connection refused"), std::string::npos) << r.output;
}

TEST_F(GrpcProbeTest, ASilentServerTimesOut) {
  RawServer silent;
  auto started = std::chrono::steady_clock::now();
  auto r = probe(spec(silent.port(), "", 300ms));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("timed out after"), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(GrpcProbeTest, AnHttp1ServerIsCritical) {
  RawServer http1("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  auto r = probe(spec(http1.port()));
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_NE(r.output.find("HTTP/2"), std::string::npos) << r.output;
}

TEST_F(GrpcProbeTest, ABadTargetIsCritical) {
  GrpcProbeSpec s;
  s.target = "no-port/web";
  auto r = probe(s);
  EXPECT_EQ(r.status, HealthStatus::kCritical);
  EXPECT_EQ(r.output, "gRPC check no-port/web: not a host:port or host:port/service target");
}

}  // namespace
}  // namespace cairn::health
