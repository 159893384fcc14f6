// Resolver: service discovery over DNS (c-ares underneath, hidden here).
//
//   auto r = cairn::Resolver::create({.servers = {"127.0.0.1:8600"}});
//   auto one = (*r)->resolve("web");   // web.service.consul, RFC 2782 choice
//   connect(one->addresses[0], one->port);
//
// SRV first; a name without SRV records falls back to its A/AAAA records.
// Answers are cached for their TTL. Several servers fail over in order: a
// server that times out, refuses or fails the query is skipped for the next.
// Blocking and not thread-safe (one Resolver per thread); the asynchronous
// form is in client/async.hpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/srv.hpp"
#include "common/result.hpp"

namespace cairn::client {

struct ResolverConfig {
  // "ip:port" or "ip" (port 53), IPv6 as "[::1]:8600". Empty: $CAIRN_DNS_ADDR
  // (a comma-separated list), else 127.0.0.1:8600.
  std::vector<std::string> servers;
  std::string domain = "consul";
  // Per try; a lookup makes at most tries x servers tries, the timeout
  // doubling with each round over the servers, so with one server, 1s and 2
  // tries it gives up after 3s.
  std::chrono::milliseconds timeout{1000};
  int tries = 2;
  std::size_t maxCacheEntries = 1024;  // 0: no cache
  std::uint64_t seed = 0;              // for the choice in resolve(); 0: random
  // For tests of the cache; default: steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

inline constexpr std::string_view kDnsAddressEnv = "CAIRN_DNS_ADDR";

class Resolver {
 public:
  // Fails (kInvalidArgument, naming the field) on a bad server address or
  // non-positive timeout or tries.
  static Result<std::unique_ptr<Resolver>> create(ResolverConfig config);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Every instance of `name`, ordered by priority then target: a bare
  // service name means <name>.service.<domain>, a name with a dot is a full
  // DNS name ("v2.web.service.consul", "db.example.org"). kNotFound when the
  // name has neither SRV nor A/AAAA records; kUnavailable on a timeout or
  // when every server failed, naming the servers.
  Result<std::vector<SrvInstance>> lookup(std::string_view name);
  // One instance of lookup(name), chosen by selectSrv.
  Result<SrvInstance> resolve(std::string_view name);
  // The A then AAAA addresses of a host name, as text.
  Result<std::vector<std::string>> lookupHost(std::string_view host);

  void clearCache();
  // "127.0.0.1:8600,..." for messages.
  const std::string& servers() const;

  struct Impl;

 private:
  explicit Resolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::client

namespace cairn {
using client::Resolver;
using client::ResolverConfig;
}  // namespace cairn
