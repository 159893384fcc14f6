#include "dns/server.hpp"

#include <chrono>

#include "common/log.hpp"
#include "dns/client_policy.hpp"
#include "dns/forwarder.hpp"
#include "dns/responder.hpp"
#include "dns/tcp_server.hpp"
#include "dns/udp_server.hpp"

namespace cairn::dns {
namespace {

class DnsServerImpl final : public DnsServer {
 public:
  DnsServerImpl(AnswerConfig cfg, Zone zone, const registry::WatchHub& hub, LoadTable* loads,
                DnsMetrics* metrics, uint64_t seed)
      : cfg_(std::move(cfg)),
        zone_(std::move(zone)),
        hub_(hub),
        loads_(loads),
        ownMetrics_(metrics ? nullptr : std::make_unique<DnsMetrics>()),
        metrics_(metrics ? *metrics : *ownMetrics_),
        seed_(seed) {}
  ~DnsServerImpl() override { stop(); }

  Status bind(const DnsOptions& o) {
    if (o.rateLimit.enabled) {
      auto r = RateLimiter::create(o.rateLimit);
      if (!r.ok()) return r.error();
      policy_.rateLimiter = std::move(*r);
    }
    policy_.recursionFrom = *parseCidrs(o.allowRecursionFrom);  // validated
    policy_.maxTcpPerClient = o.maxTcpConnectionsPerClient;
    if (!o.recursors.empty()) {
      auto f = Forwarder::create(o.recursors, o.recursorTimeout, o.maxForwardsInFlight);
      if (!f.ok()) return f.error();
      forwarder_ = std::move(*f);
    }
    TcpLimits limits{o.tcpIdleTimeout, o.maxTcpConnections, 64};
    ThreadCounters& tcpCounters = metrics_.addThread();
    // With port 0 the UDP port is free for UDP only; retry until TCP gets it too.
    for (int attempt = 0;; ++attempt) {
      // Each UDP worker makes its Responder (and so its counters) on its own thread.
      auto udp = UdpServer::create(
          o.address, static_cast<uint16_t>(o.port), o.udpWorkers, cfg_, hub_,
          [this](int w) {
            return makeResponder(static_cast<uint64_t>(w) + 1, &metrics_.addThread());
          },
          forwarder_.get(), metrics_, policy_);
      if (!udp.ok()) return udp.error();
      auto tcp = TcpServer::create(o.address, (*udp)->port(), cfg_, makeResponder(0, &tcpCounters),
                                   forwarder_.get(), metrics_, limits, policy_);
      if (tcp.ok()) {
        udp_ = std::move(*udp);
        tcp_ = std::move(*tcp);
        break;
      }
      if (o.port != 0 || attempt >= 20) return tcp.error();
    }
    udp_->start();
    tcp_->start();
    return {};
  }

  uint16_t port() const override { return udp_->port(); }

  void stop() override {
    // Workers first, then the forwarder: its last callbacks still send on
    // the UDP sockets, which close only when udp_ is destroyed.
    if (udp_) udp_->stop();
    if (tcp_) tcp_->stop();
    if (forwarder_) forwarder_->stop();
  }

  Stats stats() const override {
    Stats s;
    s.counters = metrics_.totals();
    s.tcpConnections = tcp_->connections();
    return s;
  }

 private:
  std::unique_ptr<Responder> makeResponder(uint64_t worker, ThreadCounters* counters) {
    return std::make_unique<Responder>(cfg_, zone_, hub_, loads_,
                                       seed_ * 0x9e3779b97f4a7c15ull + worker, counters);
  }

  AnswerConfig cfg_;
  Zone zone_;
  const registry::WatchHub& hub_;
  LoadTable* loads_;
  std::unique_ptr<DnsMetrics> ownMetrics_;
  DnsMetrics& metrics_;
  uint64_t seed_;
  ClientPolicy policy_;  // before the servers that read it
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<UdpServer> udp_;
  std::unique_ptr<TcpServer> tcp_;
};

}  // namespace

Result<std::unique_ptr<DnsServer>> DnsServer::create(const DnsOptions& opts,
                                                     const registry::WatchHub& hub,
                                                     LoadTable* loads, DnsMetrics* metrics) {
  if (Status st = opts.validate(); !st.ok()) return st.error();
  auto cfg = AnswerConfig::from(opts);
  if (!cfg.ok()) return cfg.error();
  auto zone = Zone::create(opts.zone);
  if (!zone.ok()) return zone.error();
  uint64_t seed =
      opts.seed
          ? opts.seed
          : static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  auto s =
      std::make_unique<DnsServerImpl>(std::move(*cfg), std::move(*zone), hub, loads, metrics, seed);
  if (Status st = s->bind(opts); !st.ok()) return st.error();
  return std::unique_ptr<DnsServer>(std::move(s));
}

}  // namespace cairn::dns
