// discover: registers a service with a TTL check, reports it healthy, finds
// it over HTTP and over DNS, watches it until its deregistration is seen,
// and deregisters it.
//
//   discover <http-addr> <dns-addr>      e.g. discover 127.0.0.1:8500 127.0.0.1:8600
//
// Prints one line per step; exits 0 when every step worked, else prints the
// error and exits 1.
#include <cstdio>
#include <thread>

#include "client/client.hpp"
#include "client/resolver.hpp"

namespace {

int fail(const char* step, const cairn::Error& e) {
  std::fprintf(stderr, "discover: %s: %s\n", step, e.message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: discover <http-addr> <dns-addr>\n");
    return 2;
  }
  cairn::ClientConfig config;
  config.address = argv[1];
  auto client = cairn::Client::create(config);
  if (!client) return fail("client", client.error());
  cairn::Client& c = **client;

  cairn::client::ServiceRegistration service;
  service.name = "example";
  service.id = "example-1";
  service.port = 9999;
  service.tags = {"demo"};
  cairn::client::CheckDefinition ttl;
  ttl.ttl = "30s";
  service.checks.push_back(ttl);
  if (auto st = c.registerService(service); !st) return fail("register", st.error());
  if (auto st = c.checkPass("service:example-1", "ready"); !st) return fail("pass", st.error());
  std::printf("registered example-1 and passed its check\n");

  cairn::client::QueryOptions passing;
  passing.passing = true;
  passing.tags = {"demo"};
  auto healthy = c.healthService("example", passing);
  if (!healthy) return fail("health", healthy.error());
  std::printf("healthy instances: %zu\n", healthy->size());
  if (healthy->size() != 1) return 1;

  cairn::ResolverConfig rc;
  rc.servers = {argv[2]};
  auto resolver = cairn::Resolver::create(rc);
  if (!resolver) return fail("resolver", resolver.error());
  auto one = (*resolver)->resolve("example");
  if (!one) return fail("resolve", one.error());
  std::printf("resolved example to %s:%u\n",
              one->addresses.empty() ? one->target.c_str() : one->addresses[0].c_str(),
              static_cast<unsigned>(one->port));

  // Deregister from another thread once the watch has seen the instance;
  // the watch ends when it sees none.
  std::thread deregister;
  cairn::client::WatchOptions options;
  options.wait = std::chrono::seconds(10);
  int states = 0;
  auto watched = c.watchService(
      "example", {}, options,
      [&](const std::vector<cairn::client::HealthServiceEntry>& entries, std::uint64_t index) {
        ++states;
        std::printf("watch: %zu instance(s) at index %llu\n", entries.size(),
                    static_cast<unsigned long long>(index));
        if (!entries.empty() && !deregister.joinable()) {
          deregister = std::thread([addr = std::string(argv[1])] {
            cairn::ClientConfig other;
            other.address = addr;
            auto second = cairn::Client::create(other);
            if (second) (void)(*second)->deregisterService("example-1");
          });
        }
        return !entries.empty();
      });
  if (deregister.joinable()) deregister.join();
  if (!watched) return fail("watch", watched.error());
  std::printf("done after %d states\n", states);
  return states == 2 ? 0 : 1;
}
