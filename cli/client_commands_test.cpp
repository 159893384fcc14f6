// The client commands end to end against a real HTTP server on 127.0.0.1:0.
#include "cli/client_commands.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "client/testing/fake_http_server.hpp"

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
      {{"catalog", "nodes", "-passing"}, "flag -passing applies only to \"health service\""},
  };
  for (const Case& c : cases) {
    Outcome r = run(c.args);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(c.problem), std::string::npos) << "want " << c.problem << " in " << r.err;
    EXPECT_NE(r.err.find("Usage:"), std::string::npos) << r.err;
  }
}

TEST(ClientCommandsErrorTest, BadAddressIsOneLine) {
  Outcome r = run({"catalog", "nodes", "-http-addr=https://x:1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "error: invalid HTTP address \"https://x:1\": https is not supported yet\n");
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
