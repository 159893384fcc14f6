// Test support: a socket address from its text, for tests that feed
// addresses to code taking sockaddr_storage (CIDR matching, DNS rate limits).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace cairn::testing {

// "10.0.0.1" or "2001:db8::1" (port 0); text that is neither fails the test
// and gives an AF_INET6 address of ::.
inline sockaddr_storage addr(const char* text) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, &v6->sin6_addr), 1) << text;
    v6->sin6_family = AF_INET6;
  }
  return s;
}

}  // namespace cairn::testing
