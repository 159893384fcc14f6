#include "proxy/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cairn::proxy {
namespace {

TEST(ParseUpstreamSpec, AcceptsTheThreeForms) {
  UpstreamConfig d;
  auto a = parseUpstreamSpec("api:9191", d);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->service, "api");
  EXPECT_EQ(a->localPort, 9191);
  EXPECT_EQ(a->bindAddress, "127.0.0.1");
  EXPECT_EQ(a->balancer.policy, Policy::kRoundRobin);
  auto b = parseUpstreamSpec("api:9191:least_request", d);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->balancer.policy, Policy::kLeastRequest);
  auto c = parseUpstreamSpec("db:127.0.0.2:0:ring_hash", d);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->bindAddress, "127.0.0.2");
  EXPECT_EQ(c->localPort, 0);
  EXPECT_EQ(c->balancer.policy, Policy::kRingHash);
}

TEST(ParseUpstreamSpec, RefusesBadSpecs) {
  UpstreamConfig d;
  EXPECT_FALSE(parseUpstreamSpec("api", d).ok());
  EXPECT_FALSE(parseUpstreamSpec("api:99999", d).ok());
  EXPECT_FALSE(parseUpstreamSpec("api:9191:fastest", d).ok());
  EXPECT_FALSE(parseUpstreamSpec(":9191", d).ok());
}

TEST(ParseProxyArgs, FlagsWithDefaults) {
  auto c = parseProxyArgs({"-service", "web", "-upstream", "api:9191", "--upstream=db:9192:random",
                           "-listen", ":21000", "-local-app", "127.0.0.1:8080", "-seed", "7",
                           "-policy", "peak_ewma", "-connect-timeout", "250ms"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->service, "web");
  EXPECT_EQ(c->serviceId, "web");
  ASSERT_EQ(c->upstreams.size(), 2u);
  EXPECT_EQ(c->upstreams[0].balancer.policy, Policy::kPeakEwma);
  EXPECT_EQ(c->upstreams[1].balancer.policy, Policy::kRandom);
  EXPECT_EQ(c->upstreams[0].connectTimeout.count(), 250);
  EXPECT_EQ(c->upstreams[0].balancer.seed, 7u);
  EXPECT_EQ(c->upstreams[1].balancer.seed, 8u);
  EXPECT_EQ(*splitHostPort(c->listen), std::make_pair(std::string("0.0.0.0"), uint16_t{21000}));
}

TEST(ParseProxyArgs, ErrorsNameTheFlag) {
  auto msg = [](std::vector<std::string> a) {
    auto r = parseProxyArgs(a);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_NE(msg({"-upstream", "api:1"}).find("-service"), std::string::npos);
  EXPECT_NE(msg({"-service", "w", "-bogus", "1"}).find("-bogus"), std::string::npos);
  EXPECT_NE(msg({"-service", "w", "-listen", ":1"}).find("-local-app"), std::string::npos);
  EXPECT_NE(msg({"-service", "w", "-upstream", "a:1", "-idle-timeout", "x"}).find("-idle-timeout"),
            std::string::npos);
  EXPECT_NE(msg({"-service", "w", "-upstream", "a:1", "-tls-cert", "c"}).find("-tls-key"),
            std::string::npos);
}

TEST(ParseProxyArgs, TomlFileThenFlagsOnTop) {
  std::string path = ::testing::TempDir() + "proxy_config_test.toml";
  {
    std::ofstream f(path);
    f << "service = \"web\"\nlisten = \":21000\"\nlocal_app = \"127.0.0.1:8080\"\n"
         "[[upstreams]]\nname = \"api\"\nlocal_port = 9191\npolicy = \"weighted\"\n"
         "connect_timeout = \"300ms\"\n"
         "[[upstreams]]\nname = \"db\"\nlocal_port = 9192\n";
  }
  auto c = parseProxyArgs({"-config", path, "-listen", ":22000", "-upstream", "cache:9193"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->service, "web");
  EXPECT_EQ(c->listen, ":22000");
  ASSERT_EQ(c->upstreams.size(), 3u);
  EXPECT_EQ(c->upstreams[0].balancer.policy, Policy::kWeighted);
  EXPECT_EQ(c->upstreams[0].connectTimeout.count(), 300);
  EXPECT_EQ(c->upstreams[1].localPort, 9192);
  EXPECT_EQ(c->upstreams[2].service, "cache");
  {
    std::ofstream f(path);
    f << "[[upstreams]]\nname = \"api\"\npolicy = \"fastest\"\n";
  }
  auto bad = parseProxyArgs({"-config", path, "-service", "w"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("fastest"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ParseProxyArgs, CloseDeniedFromFlagOrFile) {
  std::vector<std::string> base = {"-service", "api", "-listen", ":1", "-local-app", "127.0.0.1:2"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return parseProxyArgs(a);
  };
  EXPECT_FALSE(with({})->closeDenied);
  // Alone it takes no value: the next flag is not swallowed.
  auto c = with({"-close-denied", "-metrics-addr", "127.0.0.1:9"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->closeDenied);
  EXPECT_EQ(c->metricsAddress, "127.0.0.1:9");
  EXPECT_FALSE(with({"--close-denied=false"})->closeDenied);
  EXPECT_FALSE(with({"-close-denied=yes"}).ok());
  std::string path = ::testing::TempDir() + "proxy_close_denied_test.toml";
  {
    std::ofstream f(path);
    f << "close_denied = true\n";
  }
  EXPECT_TRUE(with({"-config", path})->closeDenied);
  EXPECT_FALSE(with({"-config", path, "-close-denied=false"})->closeDenied);
  {
    std::ofstream f(path);
    f << "close_denied = \"yes\"\n";
  }
  auto bad = with({"-config", path});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("close_denied"), std::string::npos);
  std::remove(path.c_str());
}

TEST(ParseProxyArgs, TlsResumptionOnByDefaultOffByFlagOrFile) {
  std::vector<std::string> base = {"-service", "web", "-upstream", "api:9191"};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return parseProxyArgs(a);
  };
  EXPECT_TRUE(with({})->tlsResumption);
  EXPECT_FALSE(with({"-tls-resumption=false"})->tlsResumption);
  EXPECT_FALSE(with({"-tls-resumption", "false"})->tlsResumption);
  EXPECT_FALSE(with({"-tls-resumption=no"}).ok());
  std::string path = ::testing::TempDir() + "proxy_tls_resumption_test.toml";
  {
    std::ofstream f(path);
    f << "tls_resumption = false\n";
  }
  EXPECT_FALSE(with({"-config", path})->tlsResumption);
  EXPECT_TRUE(with({"-config", path, "-tls-resumption=true"})->tlsResumption);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cairn::proxy
