#include "common/tls.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "common/tls_context.hpp"
#include "common/tls_test_support.hpp"

namespace cairn::tls {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using testing::LeafOptions;
using testing::Pki;

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("cairn_tls_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    pki = std::make_unique<Pki>(dir);
    caA = pki->makeCa("ca-a");
    caB = pki->makeCa("ca-b");
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  TlsConfig config(const std::string& ca, const Pki::Files& f) {
    TlsConfig c;
    c.caFile = ca;
    c.certFile = f.cert;
    c.keyFile = f.key;
    return c;
  }
  std::string makeError(const TlsConfig& c) {
    auto ctx = makeContext(c);
    return ctx.ok() ? "" : ctx.error().message;
  }

  std::filesystem::path dir;
  std::unique_ptr<Pki> pki;
  std::string caA, caB;
};

TEST_F(TlsTest, GoodFilesMakeAContext) {
  auto ctx = makeContext(config(caA, pki->issue("ca-a", "s1")));
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
}

TEST_F(TlsTest, ErrorsNameTheFileAndTheProblem) {
  auto good = config(caA, pki->issue("ca-a", "s1"));

  auto c = good;
  c.caFile = (dir / "missing.pem").string();
  EXPECT_EQ(makeError(c), "ca_file " + c.caFile + ": no such file");

  c = good;
  c.certFile = pki->write("garbage.crt", "not a certificate\n");
  EXPECT_THAT(makeError(c), HasSubstr("cert_file " + c.certFile + ": not a PEM certificate"));

  c = good;
  c.caFile = pki->write("empty-ca.pem", "");
  EXPECT_THAT(makeError(c), HasSubstr("ca_file " + c.caFile + ": no PEM certificate"));

  c = good;
  c.keyFile = pki->issue("ca-a", "other").key;
  EXPECT_EQ(makeError(c),
            "key_file " + c.keyFile + " is not the key of cert_file " + good.certFile);

  c = good;
  c.keyFile = c.certFile;
  EXPECT_THAT(makeError(c), HasSubstr("key_file " + c.keyFile + ": not an unencrypted PEM"));

  c.certFile = dir.string();
  EXPECT_EQ(makeError(c), "cert_file " + dir.string() + ": not a regular file");
}

TEST_F(TlsTest, CertificateFromAnotherCaIsRefusedAtStartup) {
  auto c = config(caA, pki->issue("ca-b", "rogue"));
  EXPECT_THAT(makeError(c), HasSubstr("does not verify against ca_file " + caA));
  // A bundle holding both CAs (CA rotation) accepts it.
  c.caFile = pki->bundle("both.pem", {caA, caB});
  EXPECT_EQ(makeError(c), "");
}

TEST_F(TlsTest, ExpiredCertificateIsRefused) {
  LeafOptions o;
  o.notBeforeSeconds = -7200;
  o.notAfterSeconds = -3600;
  EXPECT_THAT(makeError(config(caA, pki->issue("ca-a", "old", o))), HasSubstr("expired"));
}

TEST_F(TlsTest, EncryptedKeyIsRefusedWithoutPrompting) {
  LeafOptions o;
  o.passphrase = "secret";
  auto c = config(caA, pki->issue("ca-a", "locked", o));
  EXPECT_THAT(makeError(c), HasSubstr("key_file " + c.keyFile + ": not an unencrypted PEM"));
}

TEST_F(TlsTest, KeyUsageMustFitTheRole) {
  LeafOptions o;
  o.clientAuth = false;
  auto c = config(caA, pki->issue("ca-a", "web", o));
  EXPECT_THAT(makeError(c), HasSubstr("clientAuth"));
  c.role = TlsRole::kServer;
  EXPECT_EQ(makeError(c), "");
}

TEST(TlsVersion, ConsulSpellings) {
  EXPECT_EQ(*parseTlsVersion("TLSv1_2"), TlsVersion::k12);
  EXPECT_EQ(*parseTlsVersion("tls13"), TlsVersion::k13);
  EXPECT_THAT(parseTlsVersion("TLSv1_1").error().message, HasSubstr("TLS 1.2 or later"));
  EXPECT_FALSE(parseTlsVersion("ssl3").ok());
}

// One connection over loopback: a TLS server with `server`, and a client
// that is TLS with `client` or, when it is null, sends `plain` bytes.
// Returns what each side reports ("" for a good connection).
struct Outcome {
  std::string server;
  std::string client;
};

Outcome connectOnce(ssl::context& server, ssl::context* client, const std::string& plain = "") {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Outcome out;
  std::optional<ssl::stream<tcp::socket>> srv;
  acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
    ASSERT_FALSE(ec);
    srv.emplace(std::move(s), server);
    srv->async_handshake(ssl::stream_base::server, [&](boost::system::error_code ec) {
      if (ec) out.server = describeFailure(ec, srv->native_handle());
      boost::system::error_code ignore;
      srv->next_layer().close(ignore);
    });
  });
  tcp::socket sock(ioc);
  sock.connect(acceptor.local_endpoint());
  std::optional<ssl::stream<tcp::socket>> cli;
  std::array<char, 16> buf{};
  if (client) {
    cli.emplace(std::move(sock), *client);
    cli->async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec) {
      if (ec) {
        out.client = describeFailure(ec, cli->native_handle());
        return;
      }
      // With TLS 1.3 the server's verdict on our certificate comes after
      // our handshake is done; the server closes either way.
      cli->async_read_some(asio::buffer(buf), [&](boost::system::error_code ec, size_t) {
        if (isTlsError(ec)) out.client = describeFailure(ec, cli->native_handle());
      });
    });
  } else {
    asio::write(sock, asio::buffer(plain));
  }
  ioc.run_for(std::chrono::seconds(10));
  return out;
}

std::unique_ptr<ssl::context> clientWithoutCertificate(const std::string& ca) {
  auto c = std::make_unique<ssl::context>(ssl::context::tls);
  c->load_verify_file(ca);
  c->set_verify_mode(ssl::verify_peer);
  return c;
}

TEST_F(TlsTest, MutualTlsWithOneCaConnects) {
  auto s = makeContext(config(caA, pki->issue("ca-a", "s1")));
  auto c = makeContext(config(caA, pki->issue("ca-a", "s2")));
  ASSERT_TRUE(s.ok() && c.ok());
  auto out = connectOnce(**s, c->get());
  EXPECT_EQ(out.server, "");
  EXPECT_EQ(out.client, "");
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefused) {
  auto s = makeContext(config(caA, pki->issue("ca-a", "s1")));
  ASSERT_TRUE(s.ok());
  auto c = clientWithoutCertificate(caA);
  auto out = connectOnce(**s, c.get());
  EXPECT_EQ(out.server, "the peer presented no certificate");
  EXPECT_THAT(out.client, HasSubstr("the peer refused our certificate"));
}

TEST_F(TlsTest, ClientCertificateFromAnotherCaIsRefused) {
  auto s = makeContext(config(caA, pki->issue("ca-a", "s1")));
  // The rogue trusts both CAs, so it is the server that must say no.
  auto c = makeContext(config(pki->bundle("both.pem", {caA, caB}), pki->issue("ca-b", "rogue")));
  ASSERT_TRUE(s.ok() && c.ok());
  auto out = connectOnce(**s, c->get());
  EXPECT_THAT(out.server, HasSubstr("the peer's certificate is not signed by the configured CA"));
  EXPECT_THAT(out.client, HasSubstr("the peer refused our certificate"));
}

TEST_F(TlsTest, ServerCertificateFromAnotherCaIsRefused) {
  auto s = makeContext(config(caB, pki->issue("ca-b", "rogue")));
  auto c = makeContext(config(caA, pki->issue("ca-a", "s1")));
  ASSERT_TRUE(s.ok() && c.ok());
  auto out = connectOnce(**s, c->get());
  EXPECT_THAT(out.client, HasSubstr("the peer's certificate is not signed by the configured CA"));
  EXPECT_THAT(out.server, HasSubstr("the peer refused our certificate"));
}

TEST_F(TlsTest, PlainTcpIsRefused) {
  auto s = makeContext(config(caA, pki->issue("ca-a", "s1")));
  ASSERT_TRUE(s.ok());
  std::string frame("\x00\x00\x00\x05hello", 9);
  auto out = connectOnce(**s, nullptr, frame);
  EXPECT_THAT(out.server, HasSubstr("the peer is not speaking TLS"));
}

TEST_F(TlsTest, PeerNamesAreChecked) {
  LeafOptions other;
  other.dnsNames = {"client.dc1.cairn"};
  auto s = makeContext(config(caA, pki->issue("ca-a", "agent", other)));
  auto cfg = config(caA, pki->issue("ca-a", "s1"));
  cfg.peerNames = {"server.dc1.cairn", "server.dc1.consul"};
  auto c = makeContext(cfg);
  ASSERT_TRUE(s.ok() && c.ok());
  auto out = connectOnce(**s, c->get());
  EXPECT_THAT(out.client, HasSubstr("not valid for the expected server name"));
  // The same client accepts a server whose certificate carries the name.
  auto good = makeContext(config(caA, pki->issue("ca-a", "s2")));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(connectOnce(**good, c->get()).client, "");
}

TEST_F(TlsTest, MinimumVersionIsEnforced) {
  auto cfg = config(caA, pki->issue("ca-a", "s1"));
  cfg.minVersion = TlsVersion::k13;
  auto s = makeContext(cfg);
  auto c = makeContext(config(caA, pki->issue("ca-a", "s2")));
  ASSERT_TRUE(s.ok() && c.ok());
  SSL_CTX_set_max_proto_version((*c)->native_handle(), TLS1_2_VERSION);
  auto out = connectOnce(**s, c->get());
  EXPECT_THAT(out.server, HasSubstr("no TLS version in common"));
}

}  // namespace
}  // namespace cairn::tls
