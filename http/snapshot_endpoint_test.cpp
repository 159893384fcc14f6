// GET and PUT /v1/snapshot over real sockets: save from one server, restore
// into another, refusals that change nothing, the restore body limit, the
// read barrier, and blocking queries woken by a restore.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <thread>

#include "http/api.hpp"
#include "http/server.hpp"
#include "http/test_support.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
using testing::roundTrip;
using testing::statusOf;
namespace json = boost::json;

// A SyncReplicator with the cluster-like knobs the snapshot endpoint looks at.
class ShapedReplicator final : public registry::Replicator {
 public:
  explicit ShapedReplicator(testing::SyncReplicator& inner) : inner_(inner) {}
  void propose(std::string command, Done done) override {
    ++proposals;
    inner_.propose(std::move(command), std::move(done));
  }
  std::string leader() const override { return inner_.leader(); }
  std::vector<std::string> peers() const override { return inner_.peers(); }
  std::vector<ServerInfo> servers() const override { return inner_.servers(); }
  uint64_t maxCommandBytes() const override { return maxCommand; }
  bool readsNeedBarrier() const override { return barrier; }
  void readBarrier(std::function<void(Status)> done) override {
    ++barriers;
    done(barrierResult);
  }

  uint64_t maxCommand = UINT64_MAX;
  bool barrier = false;
  Status barrierResult;
  std::atomic<int> proposals{0}, barriers{0};

 private:
  testing::SyncReplicator& inner_;
};

// One server: a catalog, its Api and an HTTP server on 127.0.0.1:0.
struct TestServer {
  explicit TestServer(const std::string& node, ServerConfig cfg = {}) {
    api = std::make_unique<Api>(rep.catalog().watches(), shaped,
                                AgentIdentity{node, "id-" + node, "dc1", "127.0.0.1", 8300, "t"});
    cfg.port = 0;
    http = std::move(HttpServer::create(cfg, *api).value());
    port = http->port();
  }
  ~TestServer() {
    api->stopBackgroundWork();
    http->stop();
  }
  void apply(const registry::Command& cmd) {
    rep.propose(registry::encodeCommand(cmd), [](Result<uint64_t> r) { ASSERT_TRUE(r.ok()); });
  }
  std::string call(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    return roundTrip(port, method + " " + target + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  testing::SyncReplicator rep;
  ShapedReplicator shaped{rep};
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  uint16_t port = 0;
};

std::string bodyOf(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

std::string headerOf(const std::string& response, const std::string& name) {
  auto head = response.substr(0, response.find("\r\n\r\n"));
  auto p = head.find("\r\n" + name + ": ");
  if (p == std::string::npos) return "";
  p += name.size() + 4;
  return head.substr(p, head.find("\r\n", p) - p);
}

// Drops CreateIndex/ModifyIndex everywhere: restored records get new ones.
void stripIndexes(json::value& v) {
  if (auto* o = v.if_object()) {
    o->erase("CreateIndex");
    o->erase("ModifyIndex");
    for (auto& kv : *o) stripIndexes(kv.value());
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) stripIndexes(e);
  }
}

// Everything the catalog API shows: nodes, services with their instances,
// every check; without indexes.
std::string catalogDump(TestServer& s) {
  std::string out;
  auto add = [&](const std::string& target) {
    auto r = s.call("GET", target + (target.find('?') == std::string::npos ? "?stale" : "&stale"));
    EXPECT_EQ(statusOf(r), 200) << target << r;
    auto v = json::parse(bodyOf(r));
    stripIndexes(v);
    out += target + " " + json::serialize(v) + "\n";
    return v;
  };
  add("/v1/catalog/nodes");
  auto services = add("/v1/catalog/services");
  for (const auto& kv : services.as_object()) add("/v1/catalog/service/" + std::string(kv.key()));
  add("/v1/health/state/any");
  return out;
}

registry::RegisterCommand instance(const std::string& node, const std::string& svc,
                                   const std::string& id, std::string meta = "") {
  registry::RegisterCommand r;
  r.node.name = node;
  r.node.address = "10.0.0.7";
  registry::Service s;
  s.name = svc;
  s.id = id;
  s.port = 8080;
  s.tags = {"v1"};
  if (!meta.empty()) s.meta["blob"] = std::move(meta);
  r.service = s;
  registry::Check c;
  c.checkId = "service:" + id;
  c.serviceId = id;
  c.type = "ttl";
  c.definition.ttl = "30s";
  c.status = registry::HealthStatus::kWarning;
  c.output = "late";
  r.checks.push_back(c);
  return r;
}

class SnapshotEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 40; ++i)
      a.apply(
          instance("n" + std::to_string(i % 5), i % 2 ? "web" : "api", "s" + std::to_string(i)));
    registry::RegisterCommand nodeCheck;
    nodeCheck.node.name = "n1";
    nodeCheck.node.address = "10.0.0.7";
    registry::Check alive;
    alive.checkId = "alive";
    alive.status = registry::HealthStatus::kPassing;
    nodeCheck.checks.push_back(alive);
    a.apply(nodeCheck);
    // The target has a history of its own.
    b.apply(instance("b-node", "legacy", "l1"));
    b.apply(instance("n0", "web", "s0"));
  }

  std::string save(TestServer& s, const std::string& query = "") {
    auto r = s.call("GET", "/v1/snapshot" + query);
    EXPECT_EQ(statusOf(r), 200) << r.substr(0, 300);
    return bodyOf(r);
  }

  TestServer a{"a"};
  TestServer b{"b"};
};

TEST_F(SnapshotEndpointTest, SaveThenRestoreIntoAnotherServerGivesTheSameCatalog) {
  auto r = a.call("GET", "/v1/snapshot");
  ASSERT_EQ(statusOf(r), 200) << r.substr(0, 300);
  EXPECT_EQ(headerOf(r, "Content-Type"), "application/octet-stream");
  uint64_t aIndex = a.rep.catalog().view()->index;
  EXPECT_EQ(headerOf(r, "X-Consul-Index"), std::to_string(aIndex));
  std::string file = bodyOf(r);
  auto opened = registry::openSnapshotFile(file);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->index, aIndex);
  ASSERT_NE(catalogDump(a), catalogDump(b));

  auto put = b.call("PUT", "/v1/snapshot", file);
  ASSERT_EQ(statusOf(put), 200) << put;
  uint64_t restoredAt = b.rep.catalog().view()->index;
  EXPECT_EQ(headerOf(put, "X-Consul-Index"), std::to_string(restoredAt));
  EXPECT_EQ(catalogDump(a), catalogDump(b));
  // What a client sees as indexes moved forward, never back.
  auto services = b.call("GET", "/v1/catalog/service/web");
  EXPECT_EQ(headerOf(services, "X-Consul-Index"), std::to_string(restoredAt));
  EXPECT_NE(bodyOf(services).find("\"ModifyIndex\":" + std::to_string(restoredAt)),
            std::string::npos);
  // A snapshot of the restored server holds the same catalog again.
  TestServer c{"c"};
  ASSERT_EQ(statusOf(c.call("PUT", "/v1/snapshot", save(b))), 200);
  EXPECT_EQ(catalogDump(a), catalogDump(c));
}

TEST_F(SnapshotEndpointTest, BadFilesAreRefusedWith400AndChangeNothing) {
  std::string file = save(a);
  std::string flipped = file;
  flipped[file.size() / 2] = static_cast<char>(flipped[file.size() / 2] ^ 0x20);
  std::string newer = file;
  newer[11] = 2;  // the version's low byte
  struct Case {
    std::string body, reason;
  };
  std::vector<Case> cases = {
      {flipped, "checksum mismatch"},
      {file.substr(0, file.size() - 10), "truncated"},
      {file.substr(0, 30), "truncated"},
      {file + "junk", "trailing garbage"},
      {newer, "format version 2 is newer than this binary understands"},
      {"{\"Name\":\"web\"}", "not a Cairn snapshot"},
      {"", "takes a snapshot file"},
  };
  auto before = b.rep.catalog().view();
  for (const auto& c : cases) {
    auto r = b.call("PUT", "/v1/snapshot", c.body);
    EXPECT_EQ(statusOf(r), 400) << r;
    EXPECT_NE(r.find(c.reason), std::string::npos) << r;
  }
  EXPECT_EQ(b.shaped.proposals, 0);
  EXPECT_EQ(b.rep.catalog().view(), before) << "a refused restore published a view";
}

TEST_F(SnapshotEndpointTest, RestoreBodyHasItsOwnLimit) {
  ServerConfig cfg;
  cfg.maxBodyBytes = 1024;
  cfg.maxSnapshotBodyBytes = 64 << 10;
  TestServer small{"small", cfg};
  std::string garbage(4096, 'x');
  // Past the normal limit but within the snapshot one: read, then refused as a file.
  auto r = small.call("PUT", "/v1/snapshot?x=1", garbage);
  EXPECT_EQ(statusOf(r), 400) << r;
  EXPECT_NE(r.find("not a Cairn snapshot"), std::string::npos) << r;
  r = small.call("PUT", "/v1/snapshot", std::string(100 << 10, 'x'));
  EXPECT_EQ(statusOf(r), 413) << r;
  EXPECT_NE(r.find("limit is 65536 bytes"), std::string::npos) << r;
  // Other endpoints keep the normal limit.
  r = small.call("PUT", "/v1/agent/service/register", garbage);
  EXPECT_EQ(statusOf(r), 413) << r;
  EXPECT_NE(r.find("limit is 1024 bytes"), std::string::npos) << r;
  r = roundTrip(small.port,
                "PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                "Transfer-Encoding: chunked\r\n\r\n1000\r\n" +
                    garbage + "\r\n0\r\n\r\n");
  EXPECT_EQ(statusOf(r), 413) << r;
  // And a real file within the limit restores.
  ASSERT_EQ(statusOf(small.call("PUT", "/v1/snapshot", save(a))), 200);
}

TEST_F(SnapshotEndpointTest, LargeSnapshotIsSentWhole) {
  // Incompressible metadata: the file is far past the 64 KiB copy threshold.
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 600; ++i) {
    std::string blob;
    for (int k = 0; k < 128; ++k) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      blob += "0123456789abcdef"[x & 15];
      blob += "0123456789abcdef"[(x >> 4) & 15];
    }
    a.apply(instance("big", "blob", "b" + std::to_string(i), blob));
  }
  auto r = a.call("GET", "/v1/snapshot");
  ASSERT_EQ(statusOf(r), 200);
  std::string file = bodyOf(r);
  EXPECT_GT(file.size(), 64u << 10);
  EXPECT_EQ(headerOf(r, "Content-Length"), std::to_string(file.size()));
  ASSERT_TRUE(registry::openSnapshotFile(file).ok());
  ASSERT_EQ(statusOf(b.call("PUT", "/v1/snapshot", file)), 200);
  EXPECT_EQ(catalogDump(a), catalogDump(b));
}

TEST_F(SnapshotEndpointTest, TooLargeToReplicateIs413WithTheLimit) {
  b.shaped.maxCommand = 100;
  auto before = b.rep.catalog().view();
  auto r = b.call("PUT", "/v1/snapshot", save(a));
  EXPECT_EQ(statusOf(r), 413) << r;
  EXPECT_NE(r.find("at most 100 bytes"), std::string::npos) << r;
  EXPECT_EQ(b.rep.catalog().view(), before);
}

TEST_F(SnapshotEndpointTest, SaveWaitsForTheReadBarrierUnlessStale) {
  a.shaped.barrier = true;
  a.shaped.barrierResult = unavailable("No cluster leader");
  auto r = a.call("GET", "/v1/snapshot");
  EXPECT_EQ(statusOf(r), 500) << r;
  EXPECT_NE(r.find("No cluster leader"), std::string::npos);
  EXPECT_EQ(a.shaped.barriers, 1);
  EXPECT_FALSE(save(a, "?stale").empty());
  EXPECT_EQ(a.shaped.barriers, 1);
  a.shaped.barrierResult = {};
  EXPECT_FALSE(save(a).empty());
  EXPECT_EQ(a.shaped.barriers, 2);
}

TEST_F(SnapshotEndpointTest, RestoreWakesBlockingQueries) {
  auto first = b.call("GET", "/v1/health/service/web");
  std::string index = headerOf(first, "X-Consul-Index");
  ASSERT_FALSE(index.empty());
  int fd = testing::connectTo(b.port);
  ASSERT_TRUE(testing::sendAll(
      fd, "GET /v1/health/service/web?index=" + index + "&wait=30s HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (int i = 0; i < 500 && b.rep.catalog().watches().waiting() == 0; ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_EQ(b.rep.catalog().watches().waiting(), 1u);
  auto restoredAt = std::chrono::steady_clock::now();
  ASSERT_EQ(statusOf(b.call("PUT", "/v1/snapshot", save(a))), 200);
  auto woke = testing::readResponse(fd);
  ::close(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - restoredAt, 5s);
  EXPECT_EQ(statusOf(woke), 200);
  EXPECT_EQ(headerOf(woke, "X-Consul-Index"), std::to_string(b.rep.catalog().view()->index));
  EXPECT_NE(bodyOf(woke).find("\"s1\""), std::string::npos);  // a's web instances
}

TEST_F(SnapshotEndpointTest, AfterStopBackgroundWorkSnapshotsAre503) {
  a.api->stopBackgroundWork();
  auto r = a.call("GET", "/v1/snapshot");
  EXPECT_EQ(statusOf(r), 503) << r;
  r = a.call("PUT", "/v1/snapshot", "x");
  EXPECT_EQ(statusOf(r), 503) << r;
}

}  // namespace
}  // namespace cairn::http
