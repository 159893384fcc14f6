// Resolver over c-ares: one channel per Resolver, driven by poll() on the
// calling thread until the query's callback has run.
#include "client/resolver.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "client/dns_message.hpp"

namespace cairn::client {
namespace {

constexpr std::string_view kDefaultDnsServer = "127.0.0.1:8600";

// One server as c-ares' CSV wants it ("ip:port", "[ip6]:port").
Result<std::string> serverEntry(std::string_view text) {
  std::string host;
  std::string port = "53";
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return invalidArgument("unclosed '['");
    host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return invalidArgument("junk after ']'");
      port = std::string(text.substr(close + 2));
    }
  } else {
    auto colon = text.rfind(':');
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port = std::string(text.substr(colon + 1));
  }
  unsigned char buf[16];
  bool v4 = inet_pton(AF_INET, host.c_str(), buf) == 1;
  bool v6 = !v4 && inet_pton(AF_INET6, host.c_str(), buf) == 1;
  if (!v4 && !v6) return invalidArgument("want an IP address, got \"" + host + "\"");
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 1 || p > 65535) {
    return invalidArgument("port must be a number from 1 to 65535");
  }
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(p);
}

std::vector<std::string> splitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

const char* typeName(std::uint16_t type) {
  return type == dns::kTypeSrv ? "SRV" : type == dns::kTypeA ? "A" : "AAAA";
}

struct QueryState {
  bool done = false;
  int status = ARES_SUCCESS;
  int timeouts = 0;
  std::string wire;
};

void onAnswer(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  auto* q = static_cast<QueryState*>(arg);
  q->done = true;
  q->status = status;
  q->timeouts = timeouts;
  if (abuf != nullptr && alen > 0) q->wire.assign(reinterpret_cast<const char*>(abuf), alen);
}

std::uint32_t minTtl(const dns::Message& m) {
  std::uint32_t ttl = UINT32_MAX;
  for (const auto& r : m.answers) ttl = std::min(ttl, r.ttl);
  for (const auto& r : m.additionals) ttl = std::min(ttl, r.ttl);
  return ttl == UINT32_MAX ? 0 : ttl;
}

}  // namespace

struct Resolver::Impl {
  ResolverConfig config;
  std::string servers;  // CSV
  ares_channel channel = nullptr;
  std::mt19937_64 rng;
  TtlCache<dns::Message> cache{0};

  ~Impl() {
    if (channel != nullptr) ares_destroy(channel);
  }

  std::chrono::steady_clock::time_point now() const {
    return config.clock ? config.clock() : std::chrono::steady_clock::now();
  }

  // Runs the channel until `q` is done. c-ares bounds the time (tries and
  // timeouts), so this loop ends.
  void wait(QueryState& q) {
    while (!q.done) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int mask = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      pollfd fds[ARES_GETSOCK_MAXNUM];
      nfds_t n = 0;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(mask, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(mask, i)) events |= POLLOUT;
        if (events == 0) continue;
        fds[n++] = pollfd{socks[i], events, 0};
      }
      timeval tv{};
      timeval* tvp = ares_timeout(channel, nullptr, &tv);
      int ms = tvp == nullptr ? 100 : static_cast<int>(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
      int ready = ::poll(fds, n, std::max(ms, 1));
      if (ready <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      for (nfds_t i = 0; i < n; ++i) {
        ares_socket_t r =
            fds[i].revents & (POLLIN | POLLERR | POLLHUP) ? fds[i].fd : ARES_SOCKET_BAD;
        ares_socket_t w = fds[i].revents & POLLOUT ? fds[i].fd : ARES_SOCKET_BAD;
        if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD) ares_process_fd(channel, r, w);
      }
    }
  }

  // The answer to (name, type): from the cache, else from the servers. An
  // empty Message (no records) for NXDOMAIN and NODATA.
  Result<dns::Message> query(const std::string& name, std::uint16_t type) {
    if (auto hit = cache.get(name, type, now())) {
      // TTLs as they are now, counted down while cached.
      for (auto* records : {&hit->first.answers, &hit->first.additionals}) {
        for (auto& r : *records) r.ttl = std::min(r.ttl, hit->second);
      }
      return hit->first;
    }
    QueryState q;
    ares_query(channel, name.c_str(), 1 /* IN */, type, onAnswer, &q);
    wait(q);
    std::string what = "DNS lookup of " + name + " (" + typeName(type) + ") via " + servers;
    if (q.status == ARES_ENOTFOUND || q.status == ARES_ENODATA) return dns::Message{};
    if (q.status == ARES_ETIMEOUT) {
      return unavailable(what + " timed out (" + std::to_string(q.timeouts) + " tries, " +
                         std::to_string(config.timeout.count()) + " ms first timeout)");
    }
    if (q.status != ARES_SUCCESS) {
      return unavailable(what + " failed: " + ares_strerror(q.status));
    }
    auto message = dns::parseMessage(q.wire);
    if (!message) return corruption(what + ": " + message.error().message);
    cache.put(name, type, *message, minTtl(*message), now());
    return message;
  }

  Result<std::vector<std::string>> addresses(const std::string& host) {
    std::vector<std::string> out;
    for (std::uint16_t type : {dns::kTypeA, dns::kTypeAaaa}) {
      auto m = query(host, type);
      if (!m) return m.error();
      for (const auto& r : m->answers) {
        if (r.type == type) out.push_back(r.data);
      }
    }
    return out;
  }
};

Result<std::unique_ptr<Resolver>> Resolver::create(ResolverConfig config) {
  static std::once_flag once;
  static int initStatus = ARES_SUCCESS;
  std::call_once(once, [] { initStatus = ares_library_init(ARES_LIB_INIT_ALL); });
  if (initStatus != ARES_SUCCESS) {
    return Error{ErrorCode::kInternal,
                 std::string("c-ares failed to initialise: ") + ares_strerror(initStatus)};
  }
  if (config.servers.empty()) {
    const char* env = std::getenv(std::string(kDnsAddressEnv).c_str());
    config.servers = splitCommas(env != nullptr && *env != '\0' ? env : kDefaultDnsServer);
  }
  if (config.timeout.count() <= 0)
    return invalidArgument("ResolverConfig.timeout must be positive");
  if (config.tries <= 0) return invalidArgument("ResolverConfig.tries must be positive");
  auto impl = std::make_unique<Impl>();
  for (const std::string& s : config.servers) {
    auto entry = serverEntry(s);
    if (!entry) {
      return invalidArgument("invalid DNS server address \"" + s + "\": " + entry.error().message);
    }
    if (!impl->servers.empty()) impl->servers += ",";
    impl->servers += *entry;
  }
  ares_options opts{};
  opts.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
  opts.timeout = static_cast<int>(config.timeout.count());
  opts.tries = config.tries;
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NOROTATE;
  if (int st = ares_init_options(&impl->channel, &opts, mask); st != ARES_SUCCESS) {
    return Error{ErrorCode::kInternal, std::string("c-ares channel: ") + ares_strerror(st)};
  }
  if (int st = ares_set_servers_ports_csv(impl->channel, impl->servers.c_str());
      st != ARES_SUCCESS) {
    return invalidArgument("DNS servers \"" + impl->servers + "\": " + ares_strerror(st));
  }
  impl->rng.seed(config.seed != 0 ? config.seed : std::random_device{}());
  impl->cache = TtlCache<dns::Message>(config.maxCacheEntries);
  impl->config = std::move(config);
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::Resolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Resolver::~Resolver() = default;

const std::string& Resolver::servers() const {
  return impl_->servers;
}

void Resolver::clearCache() {
  impl_->cache.clear();
}

Result<std::vector<std::string>> Resolver::lookupHost(std::string_view host) {
  std::string name = dns::queryName(host, "");
  if (name.empty()) return invalidArgument("empty host name");
  auto out = impl_->addresses(name);
  if (out && out->empty()) {
    return notFound("DNS lookup of " + name + " via " + impl_->servers + ": no A or AAAA records");
  }
  return out;
}

Result<std::vector<SrvInstance>> Resolver::lookup(std::string_view name) {
  if (name.empty()) return invalidArgument("empty service name");
  std::string qname = dns::queryName(name, impl_->config.domain);
  auto srv = impl_->query(qname, dns::kTypeSrv);
  if (!srv) return srv.error();
  std::vector<SrvInstance> out;
  for (const auto& r : srv->answers) {
    if (r.type != dns::kTypeSrv) continue;
    SrvInstance i{r.data, r.port, r.priority, r.weight, r.ttl, {}};
    for (std::uint16_t type : {dns::kTypeA, dns::kTypeAaaa}) {
      for (const auto& a : srv->additionals) {
        if (a.type == type && a.name == r.data) {
          i.addresses.push_back(a.data);
          i.ttl = std::min(i.ttl, a.ttl);
        }
      }
    }
    if (i.addresses.empty()) {
      auto found = impl_->addresses(r.data);
      if (!found) return found.error();
      i.addresses = std::move(*found);
    }
    out.push_back(std::move(i));
  }
  if (out.empty()) {
    // No SRV records: the A/AAAA fallback.
    auto found = impl_->addresses(qname);
    if (!found) return found.error();
    if (found->empty()) {
      return notFound("DNS lookup of " + qname + " via " + impl_->servers +
                      ": no SRV, A or AAAA records");
    }
    out.push_back(SrvInstance{qname, 0, 0, 1, 0, std::move(*found)});
  }
  std::sort(out.begin(), out.end(), [](const SrvInstance& a, const SrvInstance& b) {
    return std::tie(a.priority, a.target, a.port) < std::tie(b.priority, b.target, b.port);
  });
  return out;
}

Result<SrvInstance> Resolver::resolve(std::string_view name) {
  auto all = lookup(name);
  if (!all) return all.error();
  return (*all)[*selectSrv(*all, impl_->rng)];
}

}  // namespace cairn::client
