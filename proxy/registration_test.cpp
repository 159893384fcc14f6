#include "proxy/registration.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace cairn::proxy {
namespace {

// As GET /v1/agent/service/web-sidecar-proxy answers (Consul's field names).
constexpr const char* kProxy = R"({"Kind":"connect-proxy","ID":"web-sidecar-proxy",
  "Service":"web-sidecar-proxy","Address":"127.0.0.5","Port":21000,
  "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web-1",
    "LocalServiceAddress":"127.0.0.9","LocalServicePort":8080,"Config":{},
    "Upstreams":[{"DestinationType":"service","DestinationName":"api","Datacenter":"",
                  "LocalBindAddress":"","LocalBindPort":9191,"Config":{}},
                 {"DestinationType":"service","DestinationName":"db",
                  "LocalBindAddress":"127.0.0.3","LocalBindPort":9192,"Config":{}}]}})";

TEST(Registration, DecodesAConnectProxy) {
  auto r = decodeProxyRegistration(kProxy);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->id, "web-sidecar-proxy");
  EXPECT_EQ(r->destinationService, "web");
  EXPECT_EQ(r->destinationServiceId, "web-1");
  EXPECT_EQ(r->address, "127.0.0.5");
  EXPECT_EQ(r->port, 21000);
  EXPECT_EQ(r->localServiceAddress, "127.0.0.9");
  EXPECT_EQ(r->localServicePort, 8080);
  ASSERT_EQ(r->upstreams.size(), 2u);
  EXPECT_EQ(r->upstreams[0].name, "api");
  EXPECT_EQ(r->upstreams[0].bindPort, 9191);
  EXPECT_EQ(r->upstreams[1].bindAddress, "127.0.0.3");
}

TEST(Registration, RefusesWhatIsNotAConnectProxy) {
  auto plain = decodeProxyRegistration(R"({"ID":"web","Service":"web","Port":80})");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message.find("connect-proxy"), std::string::npos);
  EXPECT_FALSE(decodeProxyRegistration(R"({"Kind":"connect-proxy","ID":"p","Port":1})").ok());
  EXPECT_FALSE(decodeProxyRegistration(
                   R"({"Kind":"connect-proxy","ID":"p","Proxy":{"DestinationServiceName":"w",
      "Upstreams":[{"DestinationType":"prepared_query","DestinationName":"q"}]}})")
                   .ok());
}

TEST(Registration, FlagsOverrideAndTheRestComesFromTheRegistration) {
  auto cfg = parseProxyArgs(
      {"-sidecar-for", "web-1", "-upstream", "api:7000", "-seed", "5", "-policy", "random"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->mesh);
  auto reg = decodeProxyRegistration(kProxy);
  ASSERT_TRUE(reg.ok());
  applyRegistration(*cfg, *reg);
  EXPECT_TRUE(cfg->validate().ok()) << cfg->validate().error().message;
  EXPECT_EQ(cfg->service, "web");
  EXPECT_EQ(cfg->serviceId, "web-1");
  EXPECT_EQ(cfg->listen, "127.0.0.5:21000");
  EXPECT_EQ(cfg->localApp, "127.0.0.9:8080");
  ASSERT_EQ(cfg->upstreams.size(), 2u);
  EXPECT_EQ(cfg->upstreams[0].service, "api");
  EXPECT_EQ(cfg->upstreams[0].localPort, 7000);  // the flag's
  EXPECT_EQ(cfg->upstreams[1].service, "db");
  EXPECT_EQ(cfg->upstreams[1].bindAddress, "127.0.0.3");
  EXPECT_EQ(cfg->upstreams[1].localPort, 9192);
  EXPECT_EQ(cfg->upstreams[1].balancer.policy, Policy::kRandom);  // -policy applies
  EXPECT_NE(cfg->upstreams[0].balancer.seed, cfg->upstreams[1].balancer.seed);
}

TEST(Registration, ListenFlagWinsAndMissingAddressesDefault) {
  auto cfg = parseProxyArgs({"-proxy-id", "p", "-listen", "127.0.0.1:0"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto reg = decodeProxyRegistration(R"({"Kind":"connect-proxy","ID":"p","Port":21000,
      "Proxy":{"DestinationServiceName":"api","LocalServicePort":9000}})");
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  applyRegistration(*cfg, *reg);
  EXPECT_EQ(cfg->listen, "127.0.0.1:0");
  EXPECT_EQ(cfg->localApp, "127.0.0.1:9000");
  EXPECT_EQ(cfg->serviceId, "api");
  EXPECT_TRUE(cfg->validate().ok());
}

TEST(Registration, FindsTheSidecarOfAServiceId) {
  constexpr const char* kServices = R"({
    "web-1":{"ID":"web-1","Service":"web","Kind":""},
    "web-1-proxy":{"ID":"web-1-proxy","Kind":"connect-proxy",
                   "Proxy":{"DestinationServiceName":"web","DestinationServiceID":"web-1"}},
    "api-proxy":{"ID":"api-proxy","Kind":"connect-proxy",
                 "Proxy":{"DestinationServiceName":"api","DestinationServiceID":""}},
    "db-a":{"ID":"db-a","Kind":"connect-proxy","Proxy":{"DestinationServiceID":"db"}},
    "db-b":{"ID":"db-b","Kind":"connect-proxy","Proxy":{"DestinationServiceID":"db"}}})";
  EXPECT_EQ(*findSidecarProxyId(kServices, "web-1"), "web-1-proxy");
  EXPECT_EQ(*findSidecarProxyId(kServices, "api"), "api-proxy");
  auto none = findSidecarProxyId(kServices, "web");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  auto two = findSidecarProxyId(kServices, "db");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("db-a, db-b"), std::string::npos);
}

TEST(Registration, MeshFlagsAndConflicts) {
  auto c = parseProxyArgs({"-service", "web", "-connect", "-upstream", "api:0"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->mesh);
  auto off = parseProxyArgs({"-service", "web", "-connect=false", "-upstream", "api:0"});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->mesh);
  EXPECT_FALSE(parseProxyArgs({"-service", "web", "-connect", "-upstream", "api:0", "-tls-cert",
                               "c", "-tls-key", "k", "-tls-ca", "a"})
                   .ok());
  EXPECT_FALSE(parseProxyArgs({"-service", "web", "-connect=maybe", "-upstream", "api:0"}).ok());
  EXPECT_FALSE(parseProxyArgs({"-proxy-id", "p", "-sidecar-for", "web"}).ok());
}

TEST(Registration, MeshKeysInTheTomlFile) {
  std::string path = ::testing::TempDir() + "proxy_registration_test.toml";
  {
    std::ofstream f(path);
    f << "service = \"web\"\nconnect = true\n[[upstreams]]\nname = \"api\"\n";
  }
  auto c = parseProxyArgs({"-config", path});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->mesh);
  auto off = parseProxyArgs({"-config", path, "-connect=false"});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->mesh);  // the flag wins
  {
    std::ofstream f(path);
    f << "sidecar_for = \"web-1\"\n";
  }
  auto side = parseProxyArgs({"-config", path});
  ASSERT_TRUE(side.ok()) << side.error().message;
  EXPECT_EQ(side->sidecarFor, "web-1");
  EXPECT_TRUE(side->mesh);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cairn::proxy
