// The bytes of commands and store rows, pinned: Raft logs, snapshots and
// store rows written by an older binary must decode the same, and a command
// encoded today must be the bytes an older server of the same version
// expects. Every field is set (not its default), so a field the encoder or
// the decoder forgets changes a pinned string. Maps hold one entry each:
// protobuf writes a map's entries in no fixed order.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "registry/command.hpp"

namespace cairn::registry {
namespace {

std::string hex(std::string_view b) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16));
  return out;
}

Node node() {
  Node n;
  n.name = "n1";
  n.id = "id-1";
  n.address = "10.0.0.1";
  n.datacenter = "dc1";
  n.taggedAddresses = {{"lan", "10.0.0.1"}};
  n.meta = {{"rack", "r1"}};
  n.createIndex = 3;
  n.modifyIndex = 4;
  return n;
}

Service service() {
  Service s;
  s.node = "n1";
  s.id = "web1";
  s.name = "web";
  s.tags = {"a", "b"};
  s.address = "10.0.0.2";
  s.taggedAddresses = {{"wan", {"1.2.3.4", 8443}}};
  s.port = 8080;
  s.meta = {{"v", "2"}};
  s.weights = {5, 2};
  s.enableTagOverride = true;
  s.kind = "connect-proxy";
  s.proxy.destinationServiceName = "api";
  s.proxy.destinationServiceId = "api1";
  s.proxy.localServiceAddress = "127.0.0.1";
  s.proxy.localServicePort = 9000;
  s.proxy.upstreams = {{"db", "dc2", "127.0.0.1", 9191, "{\"x\":1}"}};
  s.proxy.config = "{\"y\":2}";
  s.connectNative = true;
  s.createIndex = 5;
  s.modifyIndex = 6;
  return s;
}

Check check() {
  Check c;
  c.node = "n1";
  c.checkId = "c1";
  c.name = "http check";
  c.status = HealthStatus::kWarning;
  c.notes = "notes";
  c.output = "out";
  c.serviceId = "web1";
  c.serviceName = "web";
  c.serviceTags = {"a", "b"};
  c.type = "grpc";
  auto& d = c.definition;
  d.http = "http://x/health";
  d.method = "POST";
  d.header = {{"H", {"1", "2"}}};
  d.body = "{}";
  d.tcp = "h:1";
  d.args = {"/bin/true", "-v"};
  d.grpc = "127.0.0.1:50051/web";
  d.grpcUseTls = true;
  d.interval = "10s";
  d.timeout = "2s";
  d.ttl = "30s";
  d.deregisterCriticalServiceAfter = "1m";
  d.tlsSkipVerify = true;
  d.tlsServerName = "web.local";
  d.successBeforePassing = 2;
  d.failuresBeforeWarning = 3;
  d.failuresBeforeCritical = 4;
  c.createIndex = 7;
  c.modifyIndex = 8;
  return c;
}

acl::Policy policy() {
  return {"p-id", "ops", "operators", "node_prefix \"\" { policy = \"write\" }", 9, 10};
}

acl::Token token() {
  return {"acc-id", "sec-id", "a token", {"p-id", "p2"}, true, "2026-01-02T03:04:05Z", 11, 12};
}

CaState caState() {
  CaState s;
  s.clusterId = "cluster-1";
  CaRoot r;
  r.id = "aa:bb";
  r.name = "Cairn CA Primary Cert";
  r.serialNumber = 77;
  r.signingKeyId = "cc:dd";
  r.notBefore = 1700000000;
  r.notAfter = 1800000000;
  r.rootCert = "ROOT PEM";
  r.intermediateCerts = {"X1", "X2"};
  r.privateKey = "KEY PEM";
  r.active = true;
  r.rotatedOutAt = 1750000000;
  r.createIndex = 13;
  r.modifyIndex = 14;
  s.roots.push_back(r);
  s.createIndex = 15;
  s.modifyIndex = 16;
  return s;
}

Intention intention(IntentionAction action) {
  Intention i;
  i.id = "ixn-1";
  i.sourceName = "web";
  i.destinationName = "db";
  i.sourceType = "consul";
  i.action = action;
  i.description = "why";
  i.meta = {{"k", "v"}};
  i.createdAt = 1000;
  i.updatedAt = 2000;
  i.createIndex = 17;
  i.modifyIndex = 18;
  return i;
}

struct Golden {
  const char* name;
  Command cmd;
  const char* bytes;  // hex
};

std::vector<Golden> commands() {
  RegisterCommand reg{node(), true, service(), {check(), Check{}}};
  RegisterCommand nodeOnly{node(), false, std::nullopt, {}};
  CheckStatusBatchCommand batch{
      {{"n1", "c1", HealthStatus::kPassing, "ok"}, {"n2", "c2", HealthStatus::kCritical, "down"}}};
  return {
      {"register", reg,
       "080312a6030a3a0a026e31120469642d311a0831302e302e302e3122036463312a0f0a03"
       "6c616e120831302e302e302e31320a0a047261636b12027231380340041001180122a101"
       "0a026e311204776562311a037765622201612201622a0831302e302e302e3232130a0377"
       "616e120c0a07312e322e332e3410fb4138903f42060a0176120132480550025801620d63"
       "6f6e6e6563742d70726f7879680570067a440a036170691204617069311a093132372e30"
       "2e302e3120a8462a200a02646212036463321a093132372e302e302e3120e7472a077b22"
       "78223a317d32077b2279223a327d8001012ab9010a026e31120263311a0a687474702063"
       "6865636b20012a056e6f74657332036f75743a047765623142037765624a01614a016252"
       "04677270635a7a0a0f687474703a2f2f782f6865616c74681204504f53541a0b0a014812"
       "060a01310a013222027b7d2a03683a3132092f62696e2f7472756532022d763a03313073"
       "420232734a033330735202316d580162097765622e6c6f63616c68027003780482011331"
       "32372e302e302e313a35303035312f776562880101600768082a0420025a00"},
      {"register_node_only", nodeOnly,
       "0801123c0a3a0a026e31120469642d311a0831302e302e302e3122036463312a0f0a036c"
       "616e120831302e302e302e31320a0a047261636b1202723138034004"},
      {"deregister", DeregisterCommand{"n1", "web1", "c1"}, "08011a0e0a026e311204776562311a026331"},
      {"check_status", CheckStatusCommand{"n1", "c1", HealthStatus::kWarning, "slow"},
       "080122100a026e311202633118012204736c6f77"},
      {"check_status_batch", batch,
       "080232200a0c0a026e311202633122026f6b0a100a026e321202633218022204646f776e"},
      {"restore", RestoreCommand{std::string("snap\0shot", 9)}, "08012a0b0a09736e61700073686f74"},
      {"acl_set_token", AclCommand{AclCommand::Op::kSetToken, policy(), token(), "x-id"},
       "08043a8a010803123f0a04702d696412036f70731a096f70657261746f727322236e6f64"
       "655f707265666978202222207b20706f6c696379203d2022777269746522207d2809300a"
       "1a3f0a066163632d696412067365632d69641a076120746f6b656e2204702d6964220270"
       "3228013214323032362d30312d30325430333a30343a30355a380b400c2204782d6964"},
      {"acl_delete_policy", AclCommand{AclCommand::Op::kDeletePolicy, {}, {}, "p-id"},
       "08043a0c080212001a002204702d6964"},
      {"ca_set", CaSetCommand{caState(), 42},
       "0804426f0a6b0a09636c75737465722d31125a0a0561613a62621215436169726e204341"
       "205072696d6172792043657274184d220563633a64642880e2cfaa063080a4a7da063a08"
       "524f4f542050454d42025831420258324a074b45592050454d50015880c3bbc206600d68"
       "0e180f2010102a"},
      {"intention_put_allow", IntentionPutCommand{intention(IntentionAction::kAllow), true, false},
       "08044a350a310a0569786e2d3112037765621a0264622206636f6e73756c280132037768"
       "793a060a016b12017640e80748d00f501158121001"},
      {"intention_put_deny", IntentionPutCommand{intention(IntentionAction::kDeny), false, true},
       "08044a350a310a0569786e2d3112037765621a0264622206636f6e73756c280232037768"
       "793a060a016b12017640e80748d00f501158121801"},
      {"intention_delete", IntentionDeleteCommand{"ixn-1", "web", "db"},
       "080452100a0569786e2d3112037765621a026462"},
  };
}

TEST(CommandGolden, EncodingIsPinned) {
  for (const auto& g : commands()) EXPECT_EQ(hex(encodeCommand(g.cmd)), g.bytes) << g.name;
}

// Decoding the pinned bytes and encoding again gives them back: the decoder
// reads every field the older encoder wrote.
TEST(CommandGolden, PinnedBytesDecodeToTheSameCommand) {
  for (const auto& g : commands()) {
    auto back = decodeCommand(unhex(g.bytes));
    ASSERT_TRUE(back.ok()) << g.name << ": " << back.error().message;
    EXPECT_EQ(back->index(), g.cmd.index()) << g.name;
    EXPECT_EQ(hex(encodeCommand(*back)), g.bytes) << g.name;
  }
}

TEST(CommandGolden, StoreRowsArePinned) {
  acl::AclState acl;
  acl.bootstrapped = true;
  acl.index = 19;
  acl.policies = {{"p-id", policy()}, {"p2", {"p2", "read", "", "", 1, 2}}};
  acl.tokens = {{"acc-id", token()}};
  struct Row {
    const char* name;
    std::string bytes;
    std::string (*reencode)(std::string_view);
    const char* golden;
  };
  const Row rows[] = {
      {"node", encodeNode(node()), [](std::string_view b) { return encodeNode(*decodeNode(b)); },
       "0a026e31120469642d311a0831302e302e302e3122036463312a0f0a036c616e12083130"
       "2e302e302e31320a0a047261636b1202723138034004"},
      {"service", encodeService(service()),
       [](std::string_view b) { return encodeService(*decodeService(b)); },
       "0a026e311204776562311a037765622201612201622a0831302e302e302e3232130a0377"
       "616e120c0a07312e322e332e3410fb4138903f42060a0176120132480550025801620d63"
       "6f6e6e6563742d70726f7879680570067a440a036170691204617069311a093132372e30"
       "2e302e3120a8462a200a02646212036463321a093132372e302e302e3120e7472a077b22"
       "78223a317d32077b2279223a327d800101"},
      {"check", encodeCheck(check()),
       [](std::string_view b) { return encodeCheck(*decodeCheck(b)); },
       "0a026e31120263311a0a6874747020636865636b20012a056e6f74657332036f75743a04"
       "7765623142037765624a01614a01625204677270635a7a0a0f687474703a2f2f782f6865"
       "616c74681204504f53541a0b0a014812060a01310a013222027b7d2a03683a3132092f62"
       "696e2f7472756532022d763a03313073420232734a033330735202316d58016209776562"
       "2e6c6f63616c6802700378048201133132372e302e302e313a35303035312f7765628801"
       "0160076808"},
      {"acl_state", encodeAclState(acl),
       [](std::string_view b) { return encodeAclState(*decodeAclState(b)); },
       "0801123f0a04702d696412036f70731a096f70657261746f727322236e6f64655f707265"
       "666978202222207b20706f6c696379203d2022777269746522207d2809300a120e0a0270"
       "32120472656164280130021a3f0a066163632d696412067365632d69641a076120746f6b"
       "656e2204702d69642202703228013214323032362d30312d30325430333a30343a30355a"
       "380b400c2013"},
      {"ca_state", encodeCaState(caState()),
       [](std::string_view b) { return encodeCaState(*decodeCaState(b)); },
       "0a09636c75737465722d31125a0a0561613a62621215436169726e204341205072696d61"
       "72792043657274184d220563633a64642880e2cfaa063080a4a7da063a08524f4f542050"
       "454d42025831420258324a074b45592050454d50015880c3bbc206600d680e180f2010"},
      {"intention", encodeIntention(intention(IntentionAction::kDeny)),
       [](std::string_view b) { return encodeIntention(*decodeIntention(b)); },
       "0a0569786e2d3112037765621a0264622206636f6e73756c280232037768793a060a016b"
       "12017640e80748d00f50115812"},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(hex(r.bytes), r.golden) << r.name;
    EXPECT_EQ(hex(r.reencode(unhex(r.golden))), r.golden) << r.name;
  }
}

}  // namespace
}  // namespace cairn::registry
