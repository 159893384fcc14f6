// The client library against a real `cairn agent -dev`: every call of
// Client, the watch across an agent restart, Resolver (RFC 2782 choice over
// many draws, TTL cache, fail-over, timeout), and the async forms.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "client/async.hpp"
#include "client/client.hpp"
#include "client/resolver.hpp"
#include "client/testing/agent_process.hpp"

namespace cairn::client {
namespace {

using testing::AgentProcess;

std::unique_ptr<AgentProcess> startAgent(std::vector<std::string> args = {}, std::string dir = {}) {
  auto agent = AgentProcess::start(std::move(args), std::move(dir));
  EXPECT_TRUE(agent.ok()) << agent.error().message;
  return agent.ok() ? std::move(agent).value() : nullptr;
}

std::unique_ptr<Client> connect(const std::string& address) {
  ClientConfig config;
  config.address = address;
  config.timeout = std::chrono::seconds(10);
  return std::move(Client::create(config)).value();
}

ServiceRegistration web(std::string id, int port, int weight, std::vector<std::string> tags = {}) {
  ServiceRegistration s;
  s.name = "web";
  s.id = std::move(id);
  s.port = port;
  s.weightPassing = weight;
  s.tags = std::move(tags);
  return s;
}

#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const auto& st_ = (expr);                                      \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.error().message; \
  } while (0)

TEST(ClientAgentTest, EveryCallAgainstARealAgent) {
  auto agent = startAgent();
  ASSERT_NE(agent, nullptr);
  auto c = connect(agent->httpAddress());

  ASSERT_OK(c->registerService(web("web-1", 8081, 1, {"v1", "eu"})));
  ASSERT_OK(c->registerService(R"({"Name":"web","ID":"web-2","Port":8082,"Tags":["v2"]})"));
  ServiceRegistration db;
  db.name = "db";
  db.port = 5432;
  CheckDefinition ttl;
  ttl.ttl = "60s";
  db.checks.push_back(ttl);
  ASSERT_OK(c->registerService(db));

  auto services = c->catalogServices();
  ASSERT_OK(services);
  EXPECT_EQ(services->count("web"), 1u);
  EXPECT_EQ(services->count("db"), 1u);
  auto nodes = c->catalogNodes();
  ASSERT_OK(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].node, "client-test");

  QueryOptions v1;
  v1.tags = {"v1"};
  auto tagged = c->catalogService("web", v1);
  ASSERT_OK(tagged);
  ASSERT_EQ(tagged->size(), 1u);
  EXPECT_EQ((*tagged)[0].serviceId, "web-1");
  QueryOptions stale;
  stale.consistency = Consistency::kStale;
  auto all = c->catalogService("web", stale);
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 2u);
  QueryOptions consistent;
  consistent.consistency = Consistency::kConsistent;
  ASSERT_OK(c->healthService("web", consistent));

  // The TTL check starts critical: db is not passing until reported.
  auto dbPassing = c->healthService("db", true);
  ASSERT_OK(dbPassing);
  EXPECT_TRUE(dbPassing->empty());
  ASSERT_OK(c->checkPass("service:db", "fine"));
  dbPassing = c->healthService("db", true);
  ASSERT_OK(dbPassing);
  ASSERT_EQ(dbPassing->size(), 1u);
  EXPECT_EQ((*dbPassing)[0].checks.back().output, "fine");
  ASSERT_OK(c->checkWarn("service:db", "slow"));
  auto warning = c->healthState("warning");
  ASSERT_OK(warning);
  ASSERT_EQ(warning->size(), 1u);
  EXPECT_EQ((*warning)[0].checkId, "service:db");
  ASSERT_OK(c->checkFail("service:db"));
  ASSERT_OK(c->checkUpdate("service:db", "passing", "back"));
  auto checks = c->healthChecks("db");
  ASSERT_OK(checks);
  ASSERT_EQ(checks->size(), 1u);
  EXPECT_EQ((*checks)[0].status, "passing");
  EXPECT_EQ((*checks)[0].output, "back");

  // A check of its own, on a service.
  CheckDefinition own;
  own.name = "web-1 ttl";
  own.checkId = "web-1-ttl";
  own.serviceId = "web-1";
  own.ttl = "30s";
  own.status = "warning";
  ASSERT_OK(c->registerCheck(own));
  auto webChecks = c->healthChecks("web");
  ASSERT_OK(webChecks);
  ASSERT_EQ(webChecks->size(), 1u);
  EXPECT_EQ((*webChecks)[0].status, "warning");
  QueryOptions passing;
  passing.passing = true;
  auto webPassing = c->healthService("web", passing);
  ASSERT_OK(webPassing);
  ASSERT_EQ(webPassing->size(), 1u);
  EXPECT_EQ((*webPassing)[0].serviceId, "web-2");
  ASSERT_OK(c->deregisterCheck("web-1-ttl"));
  EXPECT_EQ(c->healthService("web", passing)->size(), 2u);

  auto members = c->members();
  ASSERT_OK(members);
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].status, "alive");
  auto peers = c->raftPeers();
  ASSERT_OK(peers);
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_TRUE((*peers)[0].leader);
  auto leader = c->leader();
  ASSERT_OK(leader);
  EXPECT_EQ(*leader, (*peers)[0].address);

  // Snapshot: save, change, restore, and the change is gone.
  auto snap = c->snapshotSave();
  ASSERT_OK(snap);
  ASSERT_OK(c->deregisterService("web-2"));
  EXPECT_EQ(c->catalogService("web")->size(), 1u);
  ASSERT_OK(c->snapshotRestore(snap->data));
  EXPECT_EQ(c->catalogService("web")->size(), 2u);

  // Errors name the server, the request and the reason.
  auto missing = c->deregisterService("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(agent->httpAddress()), std::string::npos);
  EXPECT_NE(missing.error().message.find("/v1/agent/service/deregister/nope"), std::string::npos);
  EXPECT_FALSE(c->healthState("sideways").ok());
}

TEST(ClientAgentTest, BlockingQueryWaitsForAChange) {
  auto agent = startAgent();
  ASSERT_NE(agent, nullptr);
  auto c = connect(agent->httpAddress());
  ASSERT_OK(c->registerService(web("web-1", 8081, 1)));
  auto first = c->request("GET", "/v1/health/service/web");
  ASSERT_OK(first);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto other = connect(agent->httpAddress());
    (void)other->registerService(web("web-2", 8082, 1));
  });
  QueryOptions q;
  q.index = first->index;
  q.wait = std::chrono::seconds(20);
  auto started = std::chrono::steady_clock::now();
  auto next = c->healthService("web", q);
  auto took = std::chrono::steady_clock::now() - started;
  writer.join();
  ASSERT_OK(next);
  EXPECT_EQ(next->size(), 2u);
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(15));
}

// The watch sees every change made, once, while the agent restarts with the
// same data dir in the middle.
TEST(ClientAgentTest, WatchSeesEachChangeOnceAcrossARestart) {
  auto agent = startAgent();
  ASSERT_NE(agent, nullptr);
  std::string dir = agent->dataDir();
  std::string http = agent->httpAddress();
  std::string port = http.substr(http.rfind(':') + 1);
  auto writer = connect(http);
  ASSERT_OK(writer->registerService(web("w0", 9000, 1)));

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<std::string>> states;
  std::atomic<bool> stop{false};
  auto watcher = connect(http);
  WatchOptions options;
  options.wait = std::chrono::seconds(5);
  options.initialBackoff = std::chrono::milliseconds(50);
  options.maxBackoff = std::chrono::milliseconds(200);
  options.stop = &stop;
  Status result;
  std::thread loop([&] {
    result = watcher->watchService("web", {}, options,
                                   [&](const std::vector<HealthServiceEntry>& e, std::uint64_t) {
                                     std::vector<std::string> ids;
                                     for (const auto& x : e) ids.push_back(x.serviceId);
                                     std::sort(ids.begin(), ids.end());
                                     std::lock_guard lock(mu);
                                     states.push_back(ids);
                                     cv.notify_all();
                                     return true;
                                   });
  });
  auto waitFor = [&](std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return states.size() >= n; });
  };
  ASSERT_TRUE(waitFor(1));
  ASSERT_OK(writer->registerService(web("w1", 9001, 1)));
  ASSERT_TRUE(waitFor(2));
  ASSERT_OK(writer->deregisterService("w0"));
  ASSERT_TRUE(waitFor(3));

  // Restart on the same port and data dir; nothing changes meanwhile.
  agent->stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::unique_ptr<AgentProcess> again;
  for (int i = 0; i < 50 && !again; ++i) {
    auto a = AgentProcess::start({"-http-port", port}, dir);
    if (a.ok())
      again = std::move(a).value();
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(again, nullptr);
  // The same state again is not delivered; a change after the restart is.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  writer = connect(http);
  ASSERT_OK(writer->registerService(web("w2", 9002, 1)));
  ASSERT_TRUE(waitFor(4));
  ASSERT_OK(writer->deregisterService("w1"));
  ASSERT_TRUE(waitFor(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  watcher->cancel();
  loop.join();
  EXPECT_TRUE(result.ok()) << result.error().message;
  using V = std::vector<std::string>;
  EXPECT_EQ(states, (std::vector<V>{V{"w0"}, V{"w0", "w1"}, V{"w1"}, V{"w1", "w2"}, V{"w2"}}));
  again.reset();
}

std::string writeConfig(const std::string& dir, const std::string& json) {
  std::string path = dir + "/client-test.json";
  std::ofstream(path) << json;
  return path;
}

TEST(ResolverAgentTest, ChoosesInProportionToWeightsAndFallsBack) {
  auto agent = startAgent();
  ASSERT_NE(agent, nullptr);
  auto c = connect(agent->httpAddress());
  ASSERT_OK(c->registerService(web("a", 9001, 1)));
  ASSERT_OK(c->registerService(web("b", 9002, 2)));
  ASSERT_OK(c->registerService(web("c", 9003, 7)));

  ResolverConfig config;
  config.servers = {agent->dnsAddress()};
  config.seed = 20240501;
  auto r = Resolver::create(config);
  ASSERT_OK(r);
  auto set = (*r)->lookup("web");
  ASSERT_OK(set);
  ASSERT_EQ(set->size(), 3u);
  for (const auto& i : *set) {
    EXPECT_EQ(i.addresses, std::vector<std::string>{"127.0.0.1"});
  }
  const int n = 3000;
  std::map<int, int> counts;
  for (int k = 0; k < n; ++k) {
    auto one = (*r)->resolve("web");
    ASSERT_OK(one);
    ++counts[one->port];
  }
  // Five standard deviations: p = 0.1, 0.2, 0.7 -> sd 16, 22, 25.
  EXPECT_NEAR(counts[9001], n * 0.1, 5 * 16.5);
  EXPECT_NEAR(counts[9002], n * 0.2, 5 * 22);
  EXPECT_NEAR(counts[9003], n * 0.7, 5 * 25);

  // A full name, and a name with no SRV records: the A fallback.
  auto full = (*r)->lookup("web.service.consul.");
  ASSERT_OK(full);
  EXPECT_EQ(full->size(), 3u);
  auto node = (*r)->lookup("client-test.node.consul");
  ASSERT_OK(node);
  ASSERT_EQ(node->size(), 1u);
  EXPECT_EQ(node->at(0).port, 0);
  EXPECT_EQ(node->at(0).addresses, std::vector<std::string>{"127.0.0.1"});
  auto host = (*r)->lookupHost("client-test.node.consul");
  ASSERT_OK(host);
  auto none = (*r)->lookup("nothing");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_NE(none.error().message.find("nothing.service.consul"), std::string::npos);
}

// A UDP socket that takes queries and never answers.
struct SilentDns {
  int fd = -1;
  int port = 0;
  SilentDns() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentDns() { ::close(fd); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

TEST(ResolverAgentTest, FailsOverToTheNextServerAndTimesOutCleanly) {
  auto agent = startAgent();
  ASSERT_NE(agent, nullptr);
  auto c = connect(agent->httpAddress());
  ASSERT_OK(c->registerService(web("a", 9001, 1)));
  SilentDns silent;

  ResolverConfig config;
  config.servers = {silent.address(), agent->dnsAddress()};
  config.timeout = std::chrono::milliseconds(200);
  auto r = Resolver::create(config);
  ASSERT_OK(r);
  auto one = (*r)->resolve("web");
  ASSERT_OK(one);
  EXPECT_EQ(one->port, 9001);

  ResolverConfig dead;
  dead.servers = {silent.address()};
  dead.timeout = std::chrono::milliseconds(300);
  dead.tries = 2;
  auto d = Resolver::create(dead);
  ASSERT_OK(d);
  auto started = std::chrono::steady_clock::now();
  auto failed = (*d)->resolve("web");
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(failed.error().message.find("timed out"), std::string::npos) << failed.error().message;
  EXPECT_NE(failed.error().message.find(silent.address()), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(3));  // 300 ms + 600 ms, and some slack
}

TEST(ResolverAgentTest, CachesForTheAnswersTtl) {
  std::string dir = (std::filesystem::temp_directory_path() / "cairn-client-ttl-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string cfg =
      writeConfig(dir, R"({"dns_config":{"service_ttl":{"*":"30s"},"node_ttl":"30s"}})");
  auto agent = startAgent({"-config-file", cfg});
  ASSERT_NE(agent, nullptr);
  auto c = connect(agent->httpAddress());
  ASSERT_OK(c->registerService(web("a", 9001, 1)));

  auto now = std::chrono::steady_clock::time_point{};
  ResolverConfig config;
  config.servers = {agent->dnsAddress()};
  config.clock = [&] { return now; };
  auto r = Resolver::create(config);
  ASSERT_OK(r);
  auto first = (*r)->lookup("web");
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->at(0).ttl, 30u);
  ASSERT_OK(c->registerService(web("b", 9002, 1)));
  now += std::chrono::seconds(20);
  auto cached = (*r)->lookup("web");
  ASSERT_OK(cached);
  EXPECT_EQ(cached->size(), 1u);  // still the cached answer
  EXPECT_EQ(cached->at(0).ttl, 10u);
  now += std::chrono::seconds(11);
  auto fresh = (*r)->lookup("web");
  ASSERT_OK(fresh);
  EXPECT_EQ(fresh->size(), 2u);
  agent.reset();
  std::filesystem::remove_all(dir);
}

TEST(AsyncAgentTest, ClientAndResolverOnAnIoContext) {
  auto agent = startAgent();
  ASSERT_NE(agent, nullptr);
  boost::asio::io_context io;
  ClientConfig cc;
  cc.address = agent->httpAddress();
  auto client = AsyncClient::create(io.get_executor(), cc);
  ASSERT_OK(client);
  ResolverConfig rc;
  rc.servers = {agent->dnsAddress()};
  auto resolver = AsyncResolver::create(io.get_executor(), rc);
  ASSERT_OK(resolver);
  std::vector<std::string> log;
  (*client)->registerService(web("a", 9001, 1), [&](Status st) {
    log.push_back(st.ok() ? "registered" : st.error().message);
    (*resolver)->resolve("web", [&](Result<SrvInstance> r) {
      log.push_back(r.ok() ? "port " + std::to_string(r->port) : r.error().message);
      (*client)->healthService("web", {}, [&](Result<std::vector<HealthServiceEntry>> h) {
        log.push_back(h.ok() ? std::to_string(h->size()) + " instance" : h.error().message);
        io.stop();
      });
    });
  });
  boost::asio::steady_timer guard(io, std::chrono::seconds(15));  // also keeps io.run() going
  guard.async_wait([&](auto) { io.stop(); });
  io.run();
  EXPECT_EQ(log, (std::vector<std::string>{"registered", "port 9001", "1 instance"}));
}

}  // namespace
}  // namespace cairn::client
