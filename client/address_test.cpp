#include "client/address.hpp"

#include <gtest/gtest.h>

namespace cairn::client {
namespace {

Endpoint mustParse(std::string_view text) {
  auto ep = parseAddress(text);
  EXPECT_TRUE(ep.ok()) << text << ": " << ep.error().message;
  return ep.ok() ? *ep : Endpoint{};
}

TEST(AddressTest, AcceptsConsulForms) {
  Endpoint a = mustParse("127.0.0.1:8500");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 8500);
  EXPECT_EQ(a.display, "127.0.0.1:8500");

  Endpoint b = mustParse("http://cairn.internal:9500/");
  EXPECT_EQ(b.host, "cairn.internal");
  EXPECT_EQ(b.port, 9500);

  Endpoint c = mustParse("localhost");
  EXPECT_EQ(c.port, 8500);
  EXPECT_EQ(c.display, "localhost:8500");

  Endpoint d = mustParse("[::1]:8501");
  EXPECT_EQ(d.host, "::1");
  EXPECT_EQ(d.port, 8501);
  EXPECT_EQ(d.display, "[::1]:8501");

  EXPECT_EQ(mustParse("http://[::1]").display, "[::1]:8500");
  EXPECT_FALSE(a.tls);
  EXPECT_FALSE(a.hasScheme);
  EXPECT_FALSE(b.tls);
  EXPECT_TRUE(b.hasScheme);
}

TEST(AddressTest, HttpsAddresses) {
  Endpoint a = mustParse("https://cairn.internal:9501/");
  EXPECT_TRUE(a.tls);
  EXPECT_TRUE(a.hasScheme);
  EXPECT_EQ(a.host, "cairn.internal");
  EXPECT_EQ(a.port, 9501);
  EXPECT_EQ(a.display, "cairn.internal:9501");
  // Without a port: the HTTPS default.
  EXPECT_EQ(mustParse("https://127.0.0.1").port, 8501);
  Endpoint v6 = mustParse("https://[::1]:8501");
  EXPECT_TRUE(v6.tls);
  EXPECT_EQ(v6.host, "::1");
  EXPECT_FALSE(parseAddress("https://").ok());
  EXPECT_FALSE(parseAddress("https://host:80/v1").ok());
}

TEST(AddressTest, RefusesMalformed) {
  for (std::string_view bad :
       {"", "http://", ":8500", "host:", "host:0", "host:65536", "host:80x", "httpss://host:8501",
        "ftp://host", "host:80/v1", "::1", "[::1", "[::1]x", "user@host:1", "a b:1"}) {
    auto ep = parseAddress(bad);
    EXPECT_FALSE(ep.ok()) << "accepted \"" << bad << "\"";
    if (!ep.ok()) {
      EXPECT_EQ(ep.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(ep.error().message.find(std::string(bad)), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace cairn::client
