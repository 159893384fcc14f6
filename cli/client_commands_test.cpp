// The client commands end to end against a real HTTP server on 127.0.0.1:0.
#include "cli/client_commands.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "client/testing/fake_http_server.hpp"
#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::cli {
namespace {

using client::testing::CannedResponse;
using client::testing::FakeHttpServer;
using client::testing::routes;

struct Outcome {
  int code = 0;
  std::string out;
  std::string err;
};

Outcome run(const std::vector<std::string>& args, const std::string& stdinText = "") {
  std::istringstream in(stdinText);
  std::ostringstream out, err;
  Outcome r;
  r.code = runClientCommand(args, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

CannedResponse ok(std::string body) {
  CannedResponse r;
  r.body = std::move(body);
  return r;
}

const std::string kHealthJson =
    R"([{"Node":{"Node":"node-1","Address":"10.0.0.1"},)"
    R"("Service":{"ID":"web-1","Service":"web","Tags":["v1","blue"],"Address":"","Port":8080},)"
    R"("Checks":[{"Status":"passing"}]},)"
    R"({"Node":{"Node":"n2","Address":"10.0.0.2"},)"
    R"("Service":{"ID":"web-2","Service":"web","Tags":[],"Address":"192.168.100.20","Port":80},)"
    R"("Checks":[{"Status":"passing"},{"Status":"critical"}]}])";

class ClientCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = FakeHttpServer::start(routes({
        {"GET /v1/catalog/services", ok(R"({"web":["v1","blue"],"cairn":[],"db":["primary"]})")},
        {"GET /v1/catalog/nodes",
         ok(R"([{"Node":"node-1","Address":"10.0.0.1","Datacenter":"dc1"},)"
            R"({"Node":"n2","Address":"10.0.0.22","Datacenter":"dc1"}])")},
        {"GET /v1/catalog/service/web",
         ok(R"([{"Node":"node-1","Address":"10.0.0.1","ServiceID":"web-1",)"
            R"("ServiceName":"web","ServiceAddress":"","ServicePort":8080,"ServiceTags":["v1"]}])")},
        {"GET /v1/health/service/web", ok(kHealthJson)},
        {"GET /v1/health/service/web?passing", ok("[]")},
        {"PUT /v1/agent/service/register", ok("")},
        {"PUT /v1/agent/service/deregister/web-1", ok("")},
    }));
    addr_ = "-http-addr=" + server_->address();
  }

  std::unique_ptr<FakeHttpServer> server_;
  std::string addr_;
};

TEST_F(ClientCommandsTest, CatalogServicesTable) {
  Outcome r = run({"catalog", "services", addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Service  Tags\n"
            "cairn\n"
            "db       primary\n"
            "web      v1,blue\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(ClientCommandsTest, CatalogNodesTable) {
  Outcome r = run({"catalog", "nodes", "--http-addr", server_->address()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Node    Address    DC\n"
            "node-1  10.0.0.1   dc1\n"
            "n2      10.0.0.22  dc1\n");
}

TEST_F(ClientCommandsTest, CatalogServiceTableUsesNodeAddressWhenServiceHasNone) {
  Outcome r = run({"catalog", addr_, "service", "web"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Node    ServiceID  Address   Port  Tags\n"
            "node-1  web-1      10.0.0.1  8080  v1\n");
}

TEST_F(ClientCommandsTest, HealthServiceTableShowsWorstStatus) {
  Outcome r = run({"health", "service", "web", addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Node    ServiceID  Address         Port  Status    Tags\n"
            "node-1  web-1      10.0.0.1        8080  passing   v1,blue\n"
            "n2      web-2      192.168.100.20  80    critical\n");
}

TEST_F(ClientCommandsTest, HealthServicePassingAsksTheServer) {
  Outcome r = run({"health", "service", "web", "-passing", addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Node  ServiceID  Address  Port  Status  Tags\n");
  EXPECT_EQ(server_->requests().at(0).target, "/v1/health/service/web?passing");
}

TEST_F(ClientCommandsTest, JsonFormatPrintsTheServersJsonIndented) {
  Outcome r = run({"catalog", "nodes", "-format", "json", addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "[\n"
            "  {\n"
            "    \"Node\": \"node-1\",\n"
            "    \"Address\": \"10.0.0.1\",\n"
            "    \"Datacenter\": \"dc1\"\n"
            "  },\n"
            "  {\n"
            "    \"Node\": \"n2\",\n"
            "    \"Address\": \"10.0.0.22\",\n"
            "    \"Datacenter\": \"dc1\"\n"
            "  }\n"
            "]\n");
  Outcome h = run({"health", "service", "web", "--format=json", addr_});
  EXPECT_EQ(h.code, 0) << h.err;
  EXPECT_EQ(boost::json::parse(h.out), boost::json::parse(kHealthJson));
}

TEST_F(ClientCommandsTest, RegisterUnwrapsConfigFileAndCanonicalizesKeys) {
  std::string path = ::testing::TempDir() + "/cairn_register_test.json";
  {
    std::ofstream f(path);
    f << R"({"service": {"name": "web", "port": 8080, "enable_tag_override": true,)"
         R"( "meta": {"owner_team": "a"}}})";
  }
  Outcome r = run({"services", "register", path, addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Registered service: web\n");
  auto reqs = server_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].target, "/v1/agent/service/register");
  EXPECT_EQ(
      boost::json::parse(reqs[0].body),
      boost::json::parse(
          R"({"Name":"web","Port":8080,"EnableTagOverride":true,"Meta":{"owner_team":"a"}})"));
}

TEST_F(ClientCommandsTest, RegisterReadsStdinAndSendsApiBodyAsIs) {
  const std::string body = R"({"Name":"api","ID":"api-1","Tags":["x"],"Port":9090})";
  Outcome r = run({"services", "register", "-", addr_}, body);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Registered service: api\n");
  EXPECT_EQ(boost::json::parse(server_->requests().at(0).body), boost::json::parse(body));
}

TEST_F(ClientCommandsTest, RegisterRefusesBadDefinitionWithoutCallingTheServer) {
  Outcome r = run({"services", "register", "-", addr_}, R"({"service": {"port": 1}})");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: bad service definition in standard input: \"service\" has no \"name\"\n");
  Outcome missing = run({"services", "register", "/nonexistent/def.json", addr_});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/def.json"), std::string::npos) << missing.err;
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(ClientCommandsTest, Deregister) {
  Outcome r = run({"services", "deregister", "web-1", addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Deregistered service: web-1\n");
  EXPECT_EQ(server_->requests().at(0).method, "PUT");
}

TEST_F(ClientCommandsTest, ServerErrorIsOneLine) {
  Outcome r = run({"catalog", "service", "nope", addr_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: GET /v1/catalog/service/nope failed: HTTP 404 from cairn at " +
                       server_->address() + ": no route for GET /v1/catalog/service/nope\n");
}

// A snapshot file of a catalog with two nodes, three services and checks.
std::string sampleSnapshot() {
  registry::testing::MemoryStore store;
  auto cat = std::move(registry::Catalog::open(store).value());
  for (int i = 0; i < 3; ++i) {
    registry::RegisterCommand r;
    r.node.name = i ? "n1" : "n0";
    r.node.address = "10.0.0.1";
    registry::Service s;
    s.name = "web";
    s.id = "web-" + std::to_string(i);
    r.service = s;
    registry::Check c;
    c.checkId = "check-" + s.id;
    c.serviceId = s.id;
    r.checks.push_back(c);
    EXPECT_TRUE(cat->apply(static_cast<uint64_t>(i + 1), r).ok());
  }
  EXPECT_TRUE(cat->flush().ok());
  return registry::writeSnapshotFile(*cat->view());
}

std::string readAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Names in a directory, to notice leftover temporary files.
std::vector<std::string> listDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class SnapshotCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/cairn_snapshot_cli_" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/backup.snap";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<FakeHttpServer> serve(std::string getBody) {
    CannedResponse get;
    get.body = std::move(getBody);
    get.headers = {{"X-Consul-Index", "3"}};
    CannedResponse put;
    put.headers = {{"X-Consul-Index", "99"}};
    auto server = FakeHttpServer::start(routes(
        {{"GET /v1/snapshot", get}, {"GET /v1/snapshot?stale", get}, {"PUT /v1/snapshot", put}}));
    addr_ = "-http-addr=" + server->address();
    return server;
  }

  std::string file_ = sampleSnapshot();
  std::string dir_, path_, addr_;
};

TEST_F(SnapshotCommandsTest, SaveWritesTheVerifiedFileAndPrintsItsIndex) {
  auto server = serve(file_);
  Outcome r = run({"snapshot", "save", path_, addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Saved and verified snapshot to index 3\n");
  EXPECT_EQ(readAll(path_), file_);
  EXPECT_EQ(listDir(dir_), std::vector<std::string>{"backup.snap"});  // no temporary left
  EXPECT_EQ(server->requests().at(0).target, "/v1/snapshot");
  r = run({"snapshot", "save", "-stale", path_, addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(server->requests().at(1).target, "/v1/snapshot?stale");
}

TEST_F(SnapshotCommandsTest, SaveOfABadDownloadWritesNothing) {
  std::string bad = file_;
  bad[bad.size() - 3] ^= 0x10;
  auto server = serve(bad);
  { std::ofstream(path_) << "the previous backup"; }
  Outcome r = run({"snapshot", "save", path_, addr_});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("does not verify, nothing was written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checksum mismatch"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(readAll(path_), "the previous backup");
  EXPECT_EQ(listDir(dir_), std::vector<std::string>{"backup.snap"});
  // Unwritable destination: one line naming it.
  server = serve(file_);
  r = run({"snapshot", "save", dir_ + "/missing/dir/x.snap", addr_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("missing/dir"), std::string::npos) << r.err;
}

TEST_F(SnapshotCommandsTest, RestoreSendsTheFileAndPrintsBothIndexes) {
  auto server = serve(file_);
  { std::ofstream(path_, std::ios::binary) << file_; }
  Outcome r = run({"snapshot", "restore", path_, addr_});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Restored snapshot taken at index 3 (2 nodes, 3 services, 3 checks); "
            "the catalog is now at index 99\n");
  auto reqs = server->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].body, file_);
  EXPECT_EQ(reqs[0].headers["content-type"], "application/octet-stream");
}

TEST_F(SnapshotCommandsTest, RestoreRefusesBadFilesWithoutCallingTheServer) {
  auto server = serve(file_);
  std::string newer = file_;
  newer[11] = 7;
  std::string corrupt = file_;
  corrupt[70] ^= 1;
  struct Case {
    std::string content, problem;
  };
  for (const Case& c : {Case{newer, "format version 7 is newer than this binary understands"},
                        Case{corrupt, "checksum mismatch"}, Case{file_.substr(0, 100), "truncated"},
                        Case{"hello", "not a Cairn snapshot"}}) {
    { std::ofstream(path_, std::ios::binary | std::ios::trunc) << c.content; }
    Outcome r = run({"snapshot", "restore", path_, addr_});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find(c.problem), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  Outcome missing = run({"snapshot", "restore", dir_ + "/nope.snap", addr_});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("nope.snap"), std::string::npos) << missing.err;
  EXPECT_TRUE(server->requests().empty());
}

TEST_F(SnapshotCommandsTest, RestoreRefusedByTheServerIsOneLine) {
  CannedResponse refused;
  refused.status = 413;
  refused.body = "Snapshot too large to replicate, nothing was changed: ...\n";
  auto server = FakeHttpServer::start(routes({{"PUT /v1/snapshot", refused}}));
  { std::ofstream(path_, std::ios::binary) << file_; }
  Outcome r = run({"snapshot", "restore", path_, "-http-addr", server->address()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("HTTP 413"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("too large to replicate"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(SnapshotCommandsTest, InspectNeedsNoServer) {
  { std::ofstream(path_, std::ios::binary) << file_; }
  Outcome r = run({"snapshot", "inspect", path_, "-http-addr=127.0.0.1:1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Index     3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Services  3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Size      " + std::to_string(file_.size())), std::string::npos) << r.out;
}

TEST(ClientCommandsErrorTest, UnreachableServerIsOneClearLine) {
  std::string address = "127.0.0.1:" + std::to_string(client::testing::closedPort());
  Outcome r = run({"catalog", "services", "-http-addr", address});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "error: cannot reach cairn at " + address + ": Connection refused\n");
}

TEST(ClientCommandsErrorTest, AddressComesFromTheEnvironment) {
  std::string address = "127.0.0.1:" + std::to_string(client::testing::closedPort());
  ::setenv("CAIRN_HTTP_ADDR", address.c_str(), 1);
  Outcome r = run({"catalog", "nodes"});
  ::unsetenv("CAIRN_HTTP_ADDR");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: cannot reach cairn at " + address + ": Connection refused\n");
}

TEST(ClientCommandsErrorTest, BadUsageNamesTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string problem;
  };
  std::vector<Case> cases = {
      {{}, "error: missing command\n"},
      {{"catalog"}, "error: \"catalog\" needs a subcommand: services, nodes, service\n"},
      {{"catalog", "frob"}, "error: unknown command \"catalog frob\""},
      {{"catalog", "service"}, "error: \"catalog service\" takes one argument, <name>, got 0\n"},
      {{"catalog", "nodes", "extra"}, "error: \"catalog nodes\" takes no arguments, got 1\n"},
      {{"services", "register"}, "takes one argument, <file.json|->"},
      {{"catalog", "nodes", "-bogus"}, "error: unknown flag \"-bogus\"\n"},
      {{"catalog", "nodes", "-format=xml"}, "invalid value \"xml\" for flag -format"},
      {{"catalog", "nodes", "-http-addr"}, "error: flag -http-addr needs a value\n"},
      {{"catalog", "nodes", "-passing"}, "flag -passing does not apply to \"catalog nodes\""},
      {{"snapshot", "restore", "f", "-stale"},
       "flag -stale does not apply to \"snapshot restore\""},
      {{"catalog", "nodes", "-stale", "-consistent"}, "-stale and -consistent exclude each other"},
      {{"join"}, "\"join\" takes at least 1 argument, got 0"},
      {{"members", "x"}, "\"members\" takes no arguments, got 1"},
      {{"frob"}, "unknown command \"frob\""},
      {{"snapshot", "save"}, "\"snapshot save\" takes one argument, <file>, got 0"},
      {{"snapshot"}, "\"snapshot\" needs a subcommand: save, restore, inspect"},
  };
  for (const Case& c : cases) {
    Outcome r = run(c.args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.problem), std::string::npos) << "want " << c.problem << " in " << r.err;
    EXPECT_NE(r.err.find("Usage:"), std::string::npos) << r.err;
  }
}

TEST(ClientCommandsErrorTest, BadAddressIsOneLine) {
  Outcome r = run({"catalog", "nodes", "-http-addr=ftp://x:1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: invalid HTTP address \"ftp://x:1\": unsupported scheme\n");
}

TEST(ClientCommandsErrorTest, HelpGoesToOut) {
  Outcome r = run({"catalog", "-help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("cairn catalog nodes"), std::string::npos);
  EXPECT_TRUE(isClientCommand("health"));
  EXPECT_FALSE(isClientCommand("agent"));
}

}  // namespace
}  // namespace cairn::cli
