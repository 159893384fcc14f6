#include "cli/client_flags.hpp"

#include <gtest/gtest.h>

namespace cairn::cli {
namespace {

TEST(ClientFlagsTest, AcceptsConsulSpellingsAnywhere) {
  auto f = parseClientFlags(
      {"-http-addr=a:1", "catalog", "--format", "json", "service", "web", "-passing"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->httpAddr, "a:1");
  EXPECT_EQ(f->format, OutputFormat::kJson);
  EXPECT_TRUE(f->passing);
  EXPECT_EQ(f->given.count("passing"), 1u);
  EXPECT_EQ(f->positionals, (std::vector<std::string>{"catalog", "service", "web"}));

  auto g = parseClientFlags({"--http-addr", "b:2", "-format=table", "--passing=false"});
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(g->httpAddr, "b:2");
  EXPECT_EQ(g->format, OutputFormat::kTable);
  EXPECT_FALSE(g->passing);
  EXPECT_EQ(g->given.count("passing"), 1u);
}

TEST(ClientFlagsTest, TlsFlagsAreCommonFlags) {
  auto f = parseClientFlags({"members", "-http-addr", "https://h:8501", "-ca-file", "ca.pem",
                             "--ca-path=cas", "-client-cert=c.crt", "-client-key", "c.key",
                             "-tls-server-name", "server.dc1.cairn"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->httpAddr, "https://h:8501");
  EXPECT_EQ(f->caFile, "ca.pem");
  EXPECT_EQ(f->caPath, "cas");
  EXPECT_EQ(f->clientCert, "c.crt");
  EXPECT_EQ(f->clientKey, "c.key");
  EXPECT_EQ(f->tlsServerName, "server.dc1.cairn");
  EXPECT_EQ(f->positionals, (std::vector<std::string>{"members"}));
  for (const char* name : {"ca-file", "ca-path", "client-cert", "client-key", "tls-server-name",
                           "http-addr", "token", "format"})
    EXPECT_TRUE(isCommonFlag(name)) << name;
  EXPECT_FALSE(isCommonFlag("passing"));
  auto missing = parseClientFlags({"members", "-ca-file"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("-ca-file"), std::string::npos);
}

TEST(ClientFlagsTest, DashIsAnArgumentAndDoubleDashEndsFlags) {
  auto f = parseClientFlags({"services", "register", "-", "--", "-odd-name", "--x"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->positionals, (std::vector<std::string>{"services", "register", "-"}));
  EXPECT_EQ(f->rest, (std::vector<std::string>{"-odd-name", "--x"}));
}

TEST(ClientFlagsTest, RepeatableAndListFlags) {
  auto f = parseClientFlags({"watch", "-tag", "a", "--tag=b", "-dns-addr=1.2.3.4:53,5.6.7.8",
                             "-dns-addr", "[::1]:8600", "-token", "t0k", "-consistent"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f->dnsAddrs, (std::vector<std::string>{"1.2.3.4:53", "5.6.7.8", "[::1]:8600"}));
  EXPECT_EQ(f->token, "t0k");
  EXPECT_TRUE(f->consistent);
  EXPECT_EQ(f->given, (std::set<std::string>{"tag", "dns-addr", "token", "consistent"}));
}

TEST(ClientFlagsTest, ErrorsNameTheFlagAsTyped) {
  auto unknown = parseClientFlags({"--nope=1"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown flag \"--nope\"");
  auto empty = parseClientFlags({"-http-addr="});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "flag -http-addr needs a value");
  auto format = parseClientFlags({"--format", "yaml"});
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.error().message, "invalid value \"yaml\" for flag --format: want table or json");
  auto passing = parseClientFlags({"-passing=maybe"});
  ASSERT_FALSE(passing.ok());
  EXPECT_NE(passing.error().message.find("-passing"), std::string::npos);
  EXPECT_FALSE(parseClientFlags({"-help=1"}).ok());
}

TEST(ClientFlagsTest, Help) {
  auto f = parseClientFlags({"catalog", "-h"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->help);
}

}  // namespace
}  // namespace cairn::cli
