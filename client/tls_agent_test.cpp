// The client library over HTTPS against a real agent with the plain port
// off and verify_incoming on, certificates made by openssl: calls, a watch
// and the async API succeed with the right CA and client certificate; a
// wrong CA, a missing client certificate, a wrong server name, plain HTTP to
// the TLS port and TLS to a plain port each fail at once with a message that
// says why and names the server.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "client/async.hpp"
#include "client/client.hpp"
#include "client/testing/agent_process.hpp"

namespace cairn::client {
namespace {

namespace fs = std::filesystem;
using testing::AgentProcess;
using namespace std::chrono_literals;

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const auto& st_ = (expr);                                      \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.error().message; \
  } while (0)

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void openssl(const std::string& args) {
  std::string cmd = "openssl " + args + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Throwaway CAs and certificates (P-256, one day), as tests/e2e/test_tls.py
// makes them.
class Pki {
 public:
  explicit Pki(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string makeCa(const std::string& name) {
    openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
            path(name + ".key") + " -out " + path(name + ".pem") + " -days 1 -subj /CN=" + name +
            " -addext basicConstraints=critical,CA:TRUE"
            " -addext keyUsage=critical,keyCertSign,cRLSign");
    return path(name + ".pem");
  }

  // Returns {cert, key}; the certificate is for server.dc1.cairn and
  // 127.0.0.1, for both server and client authentication.
  std::pair<std::string, std::string> issue(const std::string& ca, const std::string& name) {
    std::string key = path(name + ".key"), csr = path(name + ".csr"), crt = path(name + ".crt"),
                ext = path(name + ".ext");
    std::ofstream(ext) << "basicConstraints=critical,CA:FALSE\n"
                          "keyUsage=critical,digitalSignature\n"
                          "extendedKeyUsage=serverAuth,clientAuth\n"
                          "subjectAltName=DNS:server.dc1.cairn,IP:127.0.0.1\n";
    openssl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + key + " -out " +
            csr + " -subj /CN=" + name);
    openssl("x509 -req -in " + csr + " -CA " + path(ca + ".pem") + " -CAkey " + path(ca + ".key") +
            " -set_serial " + std::to_string(++serial_) + " -days 1 -extfile " + ext + " -out " +
            crt);
    return {crt, key};
  }

 private:
  fs::path dir_;
  int serial_ = 1000;
};

class TlsAgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "cairn-client-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = new fs::path(tmpl);
    Pki pki(*root_ / "pki");
    ca_ = new std::string(pki.makeCa("ca"));
    rogueCa_ = new std::string(pki.makeCa("rogue"));
    auto [serverCert, serverKey] = pki.issue("ca", "server");
    serverCert_ = new std::string(serverCert);
    serverKey_ = new std::string(serverKey);
    auto [cert, key] = pki.issue("ca", "client");
    auto [rogueCert, rogueKey] = pki.issue("rogue", "intruder");
    clientCert_ = new std::string(cert);
    clientKey_ = new std::string(key);
    rogueCert_ = new std::string(rogueCert);
    rogueKey_ = new std::string(rogueKey);
    std::string cfg = (*root_ / "agent.json").string();
    std::ofstream(cfg) << R"({"tls": {"https": {"ca_file": ")" << *ca_ << R"(", "cert_file": ")"
                       << serverCert << R"(", "key_file": ")" << serverKey
                       << R"(", "verify_incoming": true}}})";
    auto agent = AgentProcess::start(
        {"-http-port", "-1", "-https-port", "0", "-config-file", cfg, "-log-level", "error"});
    ASSERT_TRUE(agent.ok()) << agent.error().message;
    agent_ = std::move(agent).value().release();
    ASSERT_TRUE(agent_->httpAddress().empty()) << "plain HTTP is on";
    ASSERT_FALSE(agent_->httpsAddress().empty());
  }

  static void TearDownTestSuite() {
    delete agent_;
    std::error_code ec;
    if (root_) fs::remove_all(*root_, ec);
    delete root_;
    for (auto* s :
         {ca_, rogueCa_, clientCert_, clientKey_, rogueCert_, rogueKey_, serverCert_, serverKey_})
      delete s;
  }

  // A failed SetUpTestSuite would only skip the tests: fail each instead.
  void SetUp() override { ASSERT_NE(agent_, nullptr) << "the HTTPS agent did not start"; }

  static std::string httpsAddress() { return "https://" + agent_->httpsAddress(); }
  static std::string port() {
    const std::string& a = agent_->httpsAddress();
    return a.substr(a.find(':') + 1);
  }

  // The right CA and client certificate.
  static ClientConfig good() {
    ClientConfig c;
    c.address = httpsAddress();
    c.caFile = *ca_;
    c.clientCert = *clientCert_;
    c.clientKey = *clientKey_;
    c.timeout = 10s;
    c.connectTimeout = 5s;
    return c;
  }

  static std::unique_ptr<Client> make(const ClientConfig& config) {
    auto c = Client::create(config);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // The error of a members() call with `config`, which must fail fast.
  static std::string failure(const ClientConfig& config) {
    auto c = make(config);
    if (!c) return "";
    auto start = std::chrono::steady_clock::now();
    auto r = c->members();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s) << "slow failure";
    EXPECT_FALSE(r.ok()) << "call succeeded";
    return r.ok() ? "" : r.error().message;
  }

  static inline fs::path* root_ = nullptr;
  static inline std::string* ca_ = nullptr;
  static inline std::string* rogueCa_ = nullptr;
  static inline std::string* clientCert_ = nullptr;
  static inline std::string* clientKey_ = nullptr;
  static inline std::string* rogueCert_ = nullptr;
  static inline std::string* rogueKey_ = nullptr;
  static inline std::string* serverCert_ = nullptr;
  static inline std::string* serverKey_ = nullptr;
  static inline AgentProcess* agent_ = nullptr;
};

TEST_F(TlsAgentTest, CallsSucceedWithTheRightCaAndClientCertificate) {
  auto c = make(good());
  ASSERT_NE(c, nullptr);
  ServiceRegistration s;
  s.name = "secure";
  s.id = "secure-1";
  s.port = 7000;
  ASSERT_OK(c->registerService(s));
  auto services = c->catalogServices();
  ASSERT_OK(services);
  EXPECT_TRUE(services->count("secure"));
  auto members = c->members();
  ASSERT_OK(members);
  EXPECT_EQ(members->size(), 1u);
  // The connection is kept alive: many calls, one client.
  for (int i = 0; i < 5; ++i) ASSERT_OK(c->catalogNodes());
  ASSERT_OK(c->deregisterService("secure-1"));

  // A name the certificate holds, other than the address's IP.
  ClientConfig named = good();
  named.tlsServerName = "server.dc1.cairn";
  auto n = make(named);
  ASSERT_NE(n, nullptr);
  ASSERT_OK(n->members());

  // A CA directory instead of a file.
  fs::path dir = *root_ / "ca-dir";
  fs::create_directories(dir);
  fs::copy_file(*ca_, dir / "our-ca.pem", fs::copy_options::overwrite_existing);
  ClientConfig withDir = good();
  withDir.caFile.clear();
  withDir.caPath = dir.string();
  auto d = make(withDir);
  ASSERT_NE(d, nullptr);
  ASSERT_OK(d->members());
}

TEST_F(TlsAgentTest, AWrongCaFailsWithCertificateVerifyFailed) {
  ClientConfig config = good();
  config.caFile = *rogueCa_;
  std::string e = failure(config);
  EXPECT_TRUE(contains(e, "certificate verify failed")) << e;
  EXPECT_TRUE(contains(e, agent_->httpsAddress())) << e;
  EXPECT_TRUE(contains(e, "not signed by a trusted CA")) << e;

  // Skipping verification (for tests) accepts it.
  config.insecureSkipVerify = true;
  auto c = make(config);
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->members());
}

TEST_F(TlsAgentTest, NoClientCertificateWhenRequiredFailsClearly) {
  ClientConfig config = good();
  config.clientCert.clear();
  config.clientKey.clear();
  std::string e = failure(config);
  EXPECT_TRUE(contains(e, "client certificate")) << e;
  EXPECT_TRUE(contains(e, agent_->httpsAddress())) << e;

  // A client certificate of another CA is refused too.
  config.clientCert = *rogueCert_;
  config.clientKey = *rogueKey_;
  e = failure(config);
  EXPECT_TRUE(contains(e, "refused")) << e;
  EXPECT_TRUE(contains(e, agent_->httpsAddress())) << e;
}

TEST_F(TlsAgentTest, AWrongServerNameFails) {
  ClientConfig config = good();
  config.tlsServerName = "other.dc1.cairn";
  std::string e = failure(config);
  EXPECT_TRUE(contains(e, "certificate verify failed")) << e;
  EXPECT_TRUE(contains(e, "other.dc1.cairn")) << e;
  EXPECT_TRUE(contains(e, agent_->httpsAddress())) << e;

  // Verification of the host is on by default: "localhost" is not among
  // the certificate's names, though it reaches the same agent.
  config = good();
  config.address = "https://localhost:" + port();
  e = failure(config);
  EXPECT_TRUE(contains(e, "certificate verify failed")) << e;
  EXPECT_TRUE(contains(e, "\"localhost\"")) << e;
}

TEST_F(TlsAgentTest, PlainHttpToTheTlsPortFailsAtOnce) {
  ClientConfig config = good();
  config.address = "http://" + agent_->httpsAddress();
  std::string e = failure(config);
  EXPECT_TRUE(contains(e, "https://")) << e;
  EXPECT_TRUE(contains(e, agent_->httpsAddress())) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

// A TLS server that answers plain HTTP with a TLS alert record (as many
// do) is recognised as such.
TEST_F(TlsAgentTest, ATlsAlertToPlainHttpSaysUseHttps) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread server([&] {
    boost::system::error_code ec;
    asio::ip::tcp::socket s = acceptor.accept(ec);
    if (ec) return;
    char buf[512];
    s.read_some(asio::buffer(buf), ec);
    const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46};  // protocol_version
    asio::write(s, asio::buffer(alert), ec);
  });
  ClientConfig config;
  config.address = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  config.timeout = 5s;
  std::string e = failure(config);
  server.join();
  EXPECT_TRUE(contains(e, "with TLS")) << e;
  EXPECT_TRUE(contains(e, "https://")) << e;
}

TEST_F(TlsAgentTest, TlsToAPlainPortFailsAtOnce) {
  auto plain = AgentProcess::start();
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  ClientConfig config = good();
  config.address = "https://" + (*plain)->httpAddress();
  std::string e = failure(config);
  EXPECT_TRUE(contains(e, "not speaking TLS")) << e;
  EXPECT_TRUE(contains(e, (*plain)->httpAddress())) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST_F(TlsAgentTest, BadTlsFilesAreRefusedByCreate) {
  ClientConfig config = good();
  config.caFile = (*root_ / "missing.pem").string();
  auto c = Client::create(config);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message, "missing.pem")) << c.error().message;

  config = good();
  config.clientKey.clear();
  c = Client::create(config);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message, "without its key")) << c.error().message;

  config = good();
  config.clientKey = *rogueKey_;
  c = Client::create(config);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(contains(c.error().message, "is not the key of")) << c.error().message;

  // Over plain HTTP the TLS fields are not used.
  config.address = "127.0.0.1:1";
  EXPECT_TRUE(Client::create(config).ok());
}

TEST_F(TlsAgentTest, EnvironmentVariablesCairnAndConsul) {
  for (const char* prefix : {"CAIRN", "CONSUL"}) {
    std::string p = prefix;
    ::setenv((p + "_HTTP_ADDR").c_str(), httpsAddress().c_str(), 1);
    ::setenv((p + "_CACERT").c_str(), ca_->c_str(), 1);
    ::setenv((p + "_CLIENT_CERT").c_str(), clientCert_->c_str(), 1);
    ::setenv((p + "_CLIENT_KEY").c_str(), clientKey_->c_str(), 1);
    ::setenv((p + "_TLS_SERVER_NAME").c_str(), "server.dc1.cairn", 1);
    auto c = make(ClientConfig{});
    ASSERT_NE(c, nullptr);
    auto m = c->members();
    EXPECT_TRUE(m.ok()) << prefix << ": " << m.error().message;
    // The server name from the environment is checked.
    ::setenv((p + "_TLS_SERVER_NAME").c_str(), "other.dc1.cairn", 1);
    auto wrong = make(ClientConfig{});
    ASSERT_NE(wrong, nullptr);
    auto w = wrong->members();
    EXPECT_FALSE(w.ok()) << prefix;
    // ..._HTTP_SSL_VERIFY=false skips the check.
    ::setenv((p + "_HTTP_SSL_VERIFY").c_str(), "false", 1);
    auto skip = make(ClientConfig{});
    ASSERT_NE(skip, nullptr);
    auto s = skip->members();
    EXPECT_TRUE(s.ok()) << prefix << ": " << s.error().message;
    for (const char* v : {"_HTTP_ADDR", "_CACERT", "_CLIENT_CERT", "_CLIENT_KEY",
                          "_TLS_SERVER_NAME", "_HTTP_SSL_VERIFY"})
      ::unsetenv((p + v).c_str());
  }
  // ..._HTTP_SSL=true makes a host:port address HTTPS.
  ::setenv("CAIRN_HTTP_SSL", "true", 1);
  ClientConfig config = good();
  config.address = agent_->httpsAddress();
  auto c = make(config);
  ::unsetenv("CAIRN_HTTP_SSL");
  ASSERT_NE(c, nullptr);
  ASSERT_OK(c->members());
}

TEST_F(TlsAgentTest, AWatchOverHttpsSeesAChange) {
  auto watcher = make(good());
  auto writer = make(good());
  ASSERT_NE(watcher, nullptr);
  ASSERT_NE(writer, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> states{0};
  std::atomic<bool> sawInstance{false};
  WatchOptions options;
  options.stop = &stop;
  options.wait = 10s;
  std::promise<Status> done;
  std::thread t([&] {
    done.set_value(watcher->watchService(
        "watched", {}, options, [&](const std::vector<HealthServiceEntry>& entries, std::uint64_t) {
          ++states;
          if (!entries.empty() && entries[0].serviceId == "watched-1") {
            sawInstance = true;
            return false;
          }
          return true;
        }));
  });
  for (int i = 0; i < 100 && states == 0; ++i) std::this_thread::sleep_for(50ms);
  ServiceRegistration s;
  s.name = "watched";
  s.id = "watched-1";
  s.port = 7100;
  ASSERT_OK(writer->registerService(s));
  auto f = done.get_future();
  if (f.wait_for(15s) != std::future_status::ready) {
    stop = true;
    watcher->cancel();
  }
  t.join();
  Status st = f.get();
  EXPECT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(sawInstance);
  EXPECT_GE(states.load(), 2);
  ASSERT_OK(writer->deregisterService("watched-1"));
}

TEST_F(TlsAgentTest, TheAsyncApiAndAnAsyncWatchOverHttps) {
  boost::asio::io_context io;
  auto client = AsyncClient::create(io.get_executor(), good());
  ASSERT_OK(client);
  std::vector<std::string> states;  // what the watch saw
  std::string registered;           // the registration's outcome
  auto maybeDone = [&] {
    if (!registered.empty() && states.size() >= 2) io.stop();
  };
  WatchOptions options;
  options.wait = 10s;
  auto w = (*client)->watchService(
      "async-tls", {}, options,
      [&](const std::vector<HealthServiceEntry>& entries, std::uint64_t) {
        states.push_back(std::to_string(entries.size()) + " instance(s)");
        if (entries.empty()) {
          ServiceRegistration s;
          s.name = "async-tls";
          s.id = "async-tls-1";
          (*client)->registerService(s, [&](Status st) {
            registered = st.ok() ? "ok" : st.error().message;
            maybeDone();
          });
        }
        maybeDone();
      },
      [&](Status st) {
        states.push_back("ended: " + (st.ok() ? std::string("ok") : st.error().message));
        io.stop();
      });
  ASSERT_OK(w);
  boost::asio::steady_timer guard(io, 15s);  // also keeps io.run() going
  guard.async_wait([&](auto) { io.stop(); });
  io.run();
  (*w)->stop();
  EXPECT_EQ(registered, "ok");
  EXPECT_EQ(states, (std::vector<std::string>{"0 instance(s)", "1 instance(s)"}));
}

// A server that closes each keep-alive connection right after its answer
// (as the agent does with one idle for too long): the client's next request
// finds the connection closed and retries once on a new one, whether the
// server said close_notify first or not.
TEST_F(TlsAgentTest, ReconnectsWhenTheServerClosedAnIdleConnection) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  for (bool closeNotify : {true, false}) {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.use_certificate_chain_file(*serverCert_);
    ctx.use_private_key_file(*serverKey_, asio::ssl::context::pem);
    std::atomic<int> answered{0};
    std::thread server([&] {
      for (int i = 0; i < 2; ++i) {
        beast::error_code ec;
        beast::ssl_stream<asio::ip::tcp::socket> s(acceptor.accept(), ctx);
        s.handshake(asio::ssl::stream_base::server, ec);
        if (ec) return;
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(s, buffer, req, ec);
        if (ec) return;
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "[]";
        res.keep_alive(true);
        res.prepare_payload();
        http::write(s, res, ec);
        ++answered;
        if (closeNotify) SSL_shutdown(s.native_handle());  // sends it, does not wait
        s.next_layer().close();
      }
    });
    ClientConfig config = good();
    config.address = "https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    auto c = make(config);
    ASSERT_NE(c, nullptr);
    auto first = c->request("GET", "/v1/status/leader");
    ASSERT_OK(first);
    for (int i = 0; i < 100 && answered < 1; ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(100ms);  // the close reaches the client
    auto second = c->request("GET", "/v1/status/leader");
    EXPECT_TRUE(second.ok()) << (closeNotify ? "with" : "without")
                             << " close_notify: " << second.error().message;
    if (answered < 2) {  // unblock the server's accept: a connection that closes at once
      asio::ip::tcp::socket poke(io);
      beast::error_code ec;
      poke.connect(acceptor.local_endpoint(), ec);
    }
    server.join();
    EXPECT_EQ(answered.load(), 2);
  }
}

}  // namespace
}  // namespace cairn::client
