#include "server/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace cairn::server {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("cairn_cfg_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) {
    auto p = dir / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir;
};

TEST_F(ConfigTest, DevDefaults) {
  auto p = parseAgentArgs({"-dev"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->config.dev);
  EXPECT_EQ(p->config.httpPort, 8500);
  EXPECT_EQ(p->config.clientAddr, "127.0.0.1");
  EXPECT_EQ(p->config.datacenter, "dc1");
}

TEST_F(ConfigTest, HttpConfigLimits) {
  auto p = parseAgentArgs({"-dev"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.httpMaxSnapshotBytes, uint64_t{256} << 20);
  auto f =
      write("limits.json", R"({"http_config":{"max_body_bytes":2048,"max_snapshot_bytes":4096}})");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.httpMaxBodyBytes, 2048u);
  EXPECT_EQ(p->config.httpMaxSnapshotBytes, 4096u);
  f = write("bad.json", R"({"http_config":{"max_snapshot_bytes":0}})");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("http_config.max_snapshot_bytes"), std::string::npos)
      << p.error().message;
}

TEST_F(ConfigTest, CheckClose) {
  auto p = parseAgentArgs({"-dev"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.checkClose, "fin");
  auto f = write("close.toml", "check_close = \"reset\"\n");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.checkClose, "reset");
  p = parseAgentArgs({"-dev", "-config-file", f, "-check-close", "fin"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.checkClose, "fin");
  EXPECT_TRUE(p->config.checkIoUring);
  EXPECT_EQ(p->config.checkRunGranularity, "20ms");
  f = write("gran.toml", "check_run_granularity = \"10ms\"\n");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.checkRunGranularity, "10ms");
  f = write("gran2.toml", "check_run_granularity = \"2s\"\n");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("check_run_granularity"), std::string::npos);
  f = write("uring.toml", "check_io_uring = false\n");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->config.checkIoUring);
  p = parseAgentArgs({"-dev", "-config-file", f, "-check-io-uring=true"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->config.checkIoUring);
  f = write("bad.json", R"({"check_close":"rst"})");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("check_close"), std::string::npos) << p.error().message;
}

TEST_F(ConfigTest, ConnectKeys) {
  auto p = parseAgentArgs({"-dev"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->config.connectLeafCertTtl, "72h");
  EXPECT_EQ(p->config.connectDefaultIntentionPolicy, "allow");
  auto f = write("mesh.toml", R"([connect]
enabled = true
leaf_cert_ttl = "1h"
default_intention_policy = "deny"
)");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.connectLeafCertTtl, "1h");
  EXPECT_EQ(p->config.connectDefaultIntentionPolicy, "deny");
  f = write("ca.json", R"({"connect":{"ca_config":{"leaf_cert_ttl":"2h"}}})");
  p = parseAgentArgs({"-dev", "-config-file", f});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.connectLeafCertTtl, "2h");
  for (auto [text, key] :
       {std::pair{R"({"connect":{"default_intention_policy":"maybe"}})",
                  "connect.default_intention_policy"},
        std::pair{R"({"connect":{"leaf_cert_ttl":"1s"}})", "connect.leaf_cert_ttl"},
        std::pair{R"({"connect":{"ca_provider":"vault"}})", "connect.ca_provider"},
        std::pair{R"({"connect":{"nope":1}})", "connect.nope"}}) {
    f = write("bad.json", text);
    p = parseAgentArgs({"-dev", "-config-file", f});
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_THAT(p.error().message, HasSubstr(key));
  }
}

TEST_F(ConfigTest, AllFlagSpellings) {
  auto p = parseAgentArgs(
      {"-dev", "--http-port", "0", "-dns-port=0", "--node=n1", "-datacenter", "east"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.httpPort, 0);
  EXPECT_EQ(p->config.dnsPort, 0);
  EXPECT_EQ(p->config.nodeName, "n1");
  EXPECT_EQ(p->config.datacenter, "east");
}

TEST_F(ConfigTest, TomlAndJsonWithConsulKeysFlagsWin) {
  auto toml = write("a.toml", R"(
data_dir = "/tmp/x"
datacenter = "west"
client_addr = "127.0.0.2"
[ports]
http = 9500
dns = 9600
[dns_config]
only_passing = true
enable_additional_node_meta_txt = false
order = "least-loaded"
workers = 1
recursor_timeout = "500ms"
[[services]]
name = "web"
port = 80
)");
  auto jsonf = write("b.json", R"({"node_name": "j1", "retry_join": ["a:8300"]})");
  auto p = parseAgentArgs({"-config-file", toml, "-config-file", jsonf, "-http-port", "9999"});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.dataDir, "/tmp/x");
  EXPECT_EQ(p->config.datacenter, "west");
  EXPECT_EQ(p->config.httpPort, 9999);
  EXPECT_EQ(p->config.dnsPort, 9600);
  EXPECT_TRUE(p->config.dns.onlyPassing);
  EXPECT_FALSE(p->config.dns.enableAdditionalNodeMetaTxt);
  EXPECT_EQ(p->config.dns.order, "least-loaded");
  EXPECT_EQ(p->config.dns.workers, 1);
  EXPECT_EQ(p->config.dns.recursorTimeout, "500ms");
  EXPECT_EQ(p->config.nodeName, "j1");
  EXPECT_EQ(p->config.retryJoin.size(), 1u);
  ASSERT_EQ(p->config.services.size(), 1u);
}

TEST_F(ConfigTest, AclSettings) {
  auto dev = parseAgentArgs({"-dev"});
  ASSERT_TRUE(dev.ok());
  EXPECT_FALSE(dev->config.acl.enabled) << "ACLs are off unless configured";
  auto toml = write("acl.toml", R"(
[acl]
enabled = true
default_policy = "deny"
[acl.tokens]
initial_management = "4b1e9f5c-0000-4000-8000-000000000001"
)");
  auto p = parseAgentArgs({"-dev", "-config-file", toml});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->config.acl.enabled);
  EXPECT_EQ(p->config.acl.defaultPolicy, "deny");
  EXPECT_EQ(p->config.acl.initialManagement, "4b1e9f5c-0000-4000-8000-000000000001");
  auto bad = write("bad.json", R"({"acl": {"default_policy": "maybe"}})");
  auto b = parseAgentArgs({"-dev", "-config-file", bad});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error().message, HasSubstr("acl.default_policy"));
  auto unknown = write("unknown.json", R"({"acl": {"tokens": {"nope": "x"}}})");
  auto u = parseAgentArgs({"-dev", "-config-file", unknown});
  ASSERT_FALSE(u.ok());
  EXPECT_THAT(u.error().message, HasSubstr("acl.tokens.nope"));
}

TEST_F(ConfigTest, DnsAbuseSettings) {
  auto toml = write("abuse.toml", R"(
[dns_config]
allow_recursion_from = ["10.0.0.0/8"]
max_tcp_connections_per_client = 8
[dns_config.rate_limit]
enabled = false
responses_per_second = 20
slip = 0
ipv4_prefix_length = 32
exempt = ["192.0.2.0/24"]
)");
  auto p = parseAgentArgs({"-dev", "-config-file", toml});
  ASSERT_TRUE(p.ok()) << p.error().message;
  const auto& d = p->config.dns;
  EXPECT_EQ(d.allowRecursionFrom, std::vector<std::string>{"10.0.0.0/8"});
  EXPECT_EQ(d.maxTcpConnectionsPerClient, 8);
  EXPECT_EQ(d.rateLimit.enabled, false);
  EXPECT_EQ(d.rateLimit.responsesPerSecond, 20);
  EXPECT_EQ(d.rateLimit.slip, 0);
  EXPECT_EQ(d.rateLimit.ipv4PrefixLength, 32);
  EXPECT_EQ(d.rateLimit.exempt, std::vector<std::string>{"192.0.2.0/24"});
  auto bad = [&](const char* name, const char* body) {
    auto q = parseAgentArgs({"-dev", "-config-file", write(name, body)});
    EXPECT_FALSE(q.ok()) << body;
    return q.ok() ? std::string() : q.error().message;
  };
  EXPECT_NE(bad("r1.json", R"({"dns_config": {"rate_limit": {"slip": -1}}})")
                .find("dns_config.rate_limit.slip"),
            std::string::npos);
  EXPECT_NE(bad("r2.json", R"({"dns_config": {"rate_limit": {"ipv6_prefix_length": 129}}})")
                .find("ipv6_prefix_length"),
            std::string::npos);
  EXPECT_NE(bad("r3.json", R"({"dns_config": {"rate_limit": {"speed": 1}}})")
                .find("dns_config.rate_limit.speed"),
            std::string::npos);
}

TEST_F(ConfigTest, HttpsListener) {
  auto toml = write("https.toml", R"(
[ports]
http = -1
https = 8501
[tls.defaults]
ca_file = "/etc/cairn/ca.pem"
[tls.https]
cert_file = "/etc/cairn/api.pem"
key_file = "/etc/cairn/api.key"
verify_incoming = true
)");
  auto p = parseAgentArgs({"-dev", "-config-file", toml});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.httpPort, -1);
  EXPECT_EQ(p->config.httpsPort, 8501);
  auto t = httpsTls(p->config);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->caFile, "/etc/cairn/ca.pem");  // from tls.defaults
  EXPECT_EQ(t->certFile, "/etc/cairn/api.pem");
  EXPECT_TRUE(t->verifyPeer);
  EXPECT_EQ(t->role, tls::TlsRole::kServer);
  auto msg = [&](std::vector<std::string> args) {
    auto q = parseAgentArgs(args);
    EXPECT_FALSE(q.ok());
    return q.ok() ? std::string() : q.error().message;
  };
  EXPECT_NE(msg({"-dev", "-http-port", "-1"}).find("both off"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-https-port", "0"}).find("cert_file"), std::string::npos);
}

TEST_F(ConfigTest, ConfigDirReadsFilesInOrder) {
  write("10-a.json", R"({"datacenter": "one"})");
  write("20-b.toml", "datacenter = \"two\"\n");
  write("README", "ignored");
  auto p = parseAgentArgs({"-dev", "-config-dir", dir.string()});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->config.datacenter, "two");
}

TEST_F(ConfigTest, ErrorsNameTheKeyOrFlag) {
  auto msg = [&](std::vector<std::string> args) {
    auto p = parseAgentArgs(args);
    EXPECT_FALSE(p.ok());
    return p.ok() ? std::string() : p.error().message;
  };
  EXPECT_NE(msg({"-dev", "-nope"}).find("-nope"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-http-port", "abc"}).find("http-port"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-http-port", "70000"}).find("ports.http"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-http-port"}).find("needs a value"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-config-file", write("x.toml", "ports = 5\n")}).find("ports"),
            std::string::npos);
  EXPECT_NE(msg({"-dev", "-config-file", write("y.toml", "bogus_key = 1\n")}).find("bogus_key"),
            std::string::npos);
  EXPECT_NE(msg({"-dev", "-config-file", write("z.toml", "[ports\n")}).find("line"),
            std::string::npos);
  EXPECT_NE(msg({"-dev", "-config-file",
                 write("t.json", R"({"dns_config": {"enable_additional_node_meta_txt": 1}})")})
                .find("dns_config.enable_additional_node_meta_txt"),
            std::string::npos);
  EXPECT_NE(msg({"-dev", "-config-file", write("w.json", "{\"ports\": {\"http\": \"x\"}}")})
                .find("ports.http"),
            std::string::npos);
  EXPECT_NE(msg({"-server"}).find("data_dir"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-config-file", write("o.toml", "[dns_config]\norder = \"fastest\"\n")})
                .find("dns_config.order"),
            std::string::npos);
  EXPECT_NE(msg({"-dev", "-log-level", "loud"}).find("log_level"), std::string::npos);
  EXPECT_NE(msg({"-dev", "-datacenter", "Bad DC"}).find("datacenter"), std::string::npos);
}

TEST_F(ConfigTest, ConsulTlsBlockGivesServersMutualTls) {
  auto toml = write("tls.toml", R"(
server = true
data_dir = "/tmp/x"
[tls.defaults]
ca_file = "/etc/cairn/ca.pem"
cert_file = "/etc/cairn/server.pem"
key_file = "/etc/cairn/server-key.pem"
verify_incoming = true
verify_outgoing = true
tls_min_version = "TLSv1_3"
[tls.internal_rpc]
verify_server_hostname = true
[tls.https]
verify_incoming = false
)");
  auto p = parseAgentArgs({"-config-file", toml});
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto t = serverTls(p->config);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_TRUE(t->has_value());
  const tls::TlsConfig& c = **t;
  EXPECT_EQ(c.caFile, "/etc/cairn/ca.pem");
  EXPECT_EQ(c.certFile, "/etc/cairn/server.pem");
  EXPECT_EQ(c.keyFile, "/etc/cairn/server-key.pem");
  EXPECT_EQ(c.minVersion, tls::TlsVersion::k13);
  EXPECT_EQ(c.peerNames, (std::vector<std::string>{"server.dc1.cairn", "server.dc1.consul"}));
}

TEST_F(ConfigTest, OlderTopLevelTlsKeysAndInternalRpcOverrides) {
  auto json = write("tls.json", R"({
    "ca_file": "ca.pem", "cert_file": "a.pem", "key_file": "a.key",
    "verify_incoming": true, "verify_outgoing": true,
    "tls": {"internal_rpc": {"cert_file": "rpc.pem", "key_file": "rpc.key"}}})");
  auto p = parseAgentArgs({"-server", "-data-dir", "/tmp/x", "-config-file", json});
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto t = serverTls(p->config);
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->caFile, "ca.pem");
  EXPECT_EQ((*t)->certFile, "rpc.pem");
  EXPECT_EQ((*t)->keyFile, "rpc.key");
  EXPECT_EQ((*t)->minVersion, tls::TlsVersion::k12);
  EXPECT_TRUE((*t)->peerNames.empty());
}

TEST_F(ConfigTest, ServersWithoutVerifyFlagsStayOnPlainTcp) {
  auto json = write("tls.json", R"({"ca_file": "ca.pem", "cert_file": "a.pem", "key_file": "k"})");
  auto p = parseAgentArgs({"-server", "-data-dir", "/tmp/x", "-config-file", json});
  ASSERT_TRUE(p.ok()) << p.error().message;
  auto t = serverTls(p->config);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
}

TEST_F(ConfigTest, TlsErrorsNameTheKey) {
  auto msg = [&](const std::string& json) {
    auto p =
        parseAgentArgs({"-server", "-data-dir", "/tmp/x", "-config-file", write("t.json", json)});
    return p.ok() ? std::string() : p.error().message;
  };
  EXPECT_THAT(msg(R"({"tls": {"defaults": {"verify_incoming": true, "ca_file": "c",
                  "cert_file": "a", "key_file": "k"}}})"),
              HasSubstr("verify_incoming is on but verify_outgoing is off"));
  EXPECT_THAT(msg(R"({"verify_incoming": true, "verify_outgoing": true, "ca_file": "c",
                  "key_file": "k"})"),
              HasSubstr("tls.defaults.cert_file: required"));
  EXPECT_THAT(msg(R"({"tls": {"defaults": {"tls_min_version": "TLSv1_1"}}})"),
              HasSubstr("tls.defaults.tls_min_version"));
  EXPECT_THAT(msg(R"({"tls": {"internal_rpc": {"ca_path": "/etc/ssl"}}})"),
              HasSubstr("tls.internal_rpc.ca_path"));
  EXPECT_THAT(msg(R"({"tls": {"defaults": {"verify_server_hostname": true}}})"),
              HasSubstr("tls.defaults.verify_server_hostname\": unknown key"));
  EXPECT_THAT(msg(R"({"tls": {"defaults": {"cert_file": 5}}})"),
              HasSubstr("tls.defaults.cert_file"));
  EXPECT_THAT(msg(R"({"tls": {"bogus": {}}})"), HasSubstr("tls.bogus"));
  // Not a server: the server port's TLS does not apply.
  auto p =
      parseAgentArgs({"-dev", "-config-file", write("d.json", R"({"verify_incoming": true})")});
  EXPECT_TRUE(p.ok());
}

}  // namespace
}  // namespace cairn::server
