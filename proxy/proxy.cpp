#include "proxy/proxy.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <unordered_map>

#include "common/log.hpp"
#include "common/tls_context.hpp"
#include "proxy/authorizer.hpp"
#include "proxy/intention_watch.hpp"
#include "proxy/load_reporter.hpp"
#include "proxy/mesh_tls.hpp"
#include "proxy/metrics.hpp"
#include "proxy/registration.hpp"
#include "proxy/relay.hpp"
#include "proxy/upstream_watch.hpp"

namespace cairn::proxy {

namespace {

using Clock = std::chrono::steady_clock;

// How long a TLS session between proxies may be resumed without a full
// handshake (the peer's certificate is not checked again in that time).
constexpr std::chrono::seconds kSessionLifetime{300};

void countHandshake(ListenerCounters& c, TlsStream& s) {
  ++(SSL_session_reused(s.native_handle()) ? c.handshakesResumed : c.handshakesFull);
}
using boost::system::error_code;

Result<tcp::endpoint> endpointOf(const std::string& text, const char* what) {
  auto hp = splitHostPort(text);
  if (!hp.ok()) return invalidArgument(std::string(what) + ": " + hp.error().message);
  error_code ec;
  auto addr = asio::ip::make_address(hp->first, ec);
  if (ec)
    return invalidArgument(std::string(what) + ": \"" + hp->first + "\" is not an IP address");
  return tcp::endpoint(addr, hp->second);
}

Result<std::unique_ptr<tcp::acceptor>> listen(asio::io_context& io, const tcp::endpoint& ep,
                                              const std::string& what) {
  auto a = std::make_unique<tcp::acceptor>(io);
  error_code ec;
  a->open(ep.protocol(), ec);
  if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return ioError("cannot listen on " + ep.address().to_string() + ":" +
                   std::to_string(ep.port()) + " (" + what + "): " + ec.message());
  return a;
}

std::string hostPort(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

class ProxyImpl {
 public:
  explicit ProxyImpl(const ProxyConfig& cfg)
      : cfg_(cfg), signals_(io_, SIGTERM, SIGINT), hup_(io_, SIGHUP) {}

  Status start();
  void run() { io_.run(); }

 private:
  struct Upstream {
    UpstreamConfig cfg;
    Balancer balancer;
    std::unique_ptr<tcp::acceptor> acceptor;
    ListenerCounters counters;
    std::unique_ptr<UpstreamWatch> watch;
    explicit Upstream(UpstreamConfig c) : cfg(std::move(c)), balancer(cfg.balancer) {}
  };
  // One outbound connection while it looks for an instance.
  struct Attempt {
    tcp::socket client;
    std::string clientKey;
    std::vector<std::string> tried;
  };

  void accept(Upstream& u);
  void acceptInbound();
  void connectNext(Upstream& u, std::shared_ptr<Attempt> a);
  // Bookkeeping of a connected upstream instance; the relay's hooks.
  RelayHooks upstreamConnected(Upstream& u, const std::string& id, Clock::time_point began);
  // Returns the relay's id (its key in relays_).
  template <class ClientStream, class ServerStream>
  uint64_t startRelay(ClientStream client, ServerStream server, ListenerCounters& c,
                      RelayHooks hooks);
  // The intention check of a verified inbound client; logs and counts.
  Decision authorizeInbound(TlsStream& s);
  // New intentions: in force for new connections; with close_denied, the
  // established inbound ones they deny are closed.
  void intentionsChanged(std::shared_ptr<const IntentionSet> set);
  // Runs `then(stream)` once a TLS handshake (as `type`) and the peer's
  // identity check have passed within `timeout`; else `fail(why)`.
  template <class Then, class Fail>
  void handshake(tcp::socket s, asio::ssl::stream_base::handshake_type type,
                 std::chrono::milliseconds timeout, Then then, Fail fail);
  // Calls `then` with a connected socket, or a closed one on failure.
  void connectLocalApp(std::function<void(tcp::socket)> then);
  void acceptMetrics();
  void drain();
  void finishIfIdle();
  uint64_t totalActive() const;

  ProxyConfig cfg_;
  asio::io_context io_{1};  // one thread runs it (others only post to it)
  asio::signal_set signals_;
  asio::signal_set hup_;
  std::shared_ptr<spdlog::logger> log_ = log::get("proxy");
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  std::unique_ptr<tcp::acceptor> inbound_;
  // Set: mutual TLS between proxies. Replaced on SIGHUP (new leaf files);
  // established streams keep their SSL objects, which hold the old SSL_CTX.
  std::shared_ptr<asio::ssl::context> tls_;
  Result<std::shared_ptr<asio::ssl::context>> loadTls() const;
  void waitHup();
  // Mesh mode: installs tls_ from the agent's leaf and roots, and again on
  // every rotation; also names the identity each upstream must present.
  std::unique_ptr<MeshTls> mesh_;
  tcp::endpoint localApp_;
  ListenerCounters inboundCounters_;
  std::atomic<uint64_t> inboundActive_{0};  // read by the load reporter
  std::unique_ptr<tcp::acceptor> metrics_;
  std::unique_ptr<LoadReporter> loadReporter_;
  std::unordered_map<uint64_t, std::weak_ptr<RelayHandle>> relays_;
  // Inbound with TLS: the intention check, the watch that feeds it, and the
  // source service of every established inbound relay (by relay id).
  std::unique_ptr<Authorizer> authz_;
  std::unique_ptr<IntentionWatch> intentionWatch_;
  std::unordered_map<uint64_t, std::string> inboundSources_;
  uint64_t nextRelayId_ = 0;
  bool draining_ = false;
  std::unique_ptr<asio::steady_timer> drainTimer_;
};

Status ProxyImpl::start() {
  client::ClientConfig clientCfg;
  clientCfg.address = cfg_.agentAddress;
  clientCfg.token = cfg_.token;
  std::string line = "proxy listening";
  if (cfg_.tls.enabled()) {
    auto ctx = loadTls();
    if (!ctx.ok()) return ctx.error();
    tls_ = std::move(*ctx);
    waitHup();
  } else if (cfg_.mesh) {
    auto m = MeshTls::create(
        io_, {.client = clientCfg, .service = cfg_.service, .startupWait = cfg_.meshWait},
        [this](std::shared_ptr<asio::ssl::context> ctx) {
          if (cfg_.tlsResumption)
            enableResumption(*ctx, kSessionLifetime);
          else
            disableResumption(*ctx);
          tls_ = std::move(ctx);
        });
    if (!m.ok()) return m.error();
    mesh_ = std::move(*m);
  }
  auto metricsEp = endpointOf(cfg_.metricsAddress, "-metrics-addr");
  if (!metricsEp.ok()) return metricsEp.error();
  auto m = listen(io_, *metricsEp, "metrics");
  if (!m.ok()) return m.error();
  metrics_ = std::move(*m);
  line += " metrics=" + hostPort(metrics_->local_endpoint());
  if (!cfg_.listen.empty()) {
    auto ep = endpointOf(cfg_.listen, "-listen");
    if (!ep.ok()) return ep.error();
    auto app = endpointOf(cfg_.localApp, "-local-app");
    if (!app.ok()) return app.error();
    localApp_ = *app;
    auto a = listen(io_, *ep, "inbound");
    if (!a.ok()) return a.error();
    inbound_ = std::move(*a);
    line += " inbound=" + hostPort(inbound_->local_endpoint());
  }
  for (const auto& uc : cfg_.upstreams) {
    auto u = std::make_unique<Upstream>(uc);
    auto bind = endpointOf(uc.bindAddress + ":" + std::to_string(uc.localPort), "upstream bind");
    if (!bind.ok()) return bind.error();
    auto a = listen(io_, *bind, "upstream " + uc.service);
    if (!a.ok()) return a.error();
    u->acceptor = std::move(*a);
    line += " upstream." + uc.service + "=" + hostPort(u->acceptor->local_endpoint());
    upstreams_.push_back(std::move(u));
  }
  // Watches last: their first answers find the balancers in place.
  for (auto& up : upstreams_) {
    Upstream* u = up.get();
    auto w = UpstreamWatch::create(
        {.client = clientCfg, .service = u->cfg.service, .connect = cfg_.mesh},
        [this, u](std::vector<Instance> list) {
          asio::post(io_, [u, list = std::move(list)]() mutable {
            u->balancer.setInstances(std::move(list));
          });
        });
    if (!w.ok()) return w.error();
    u->watch = std::move(*w);
  }
  if (inbound_ && (tls_ || mesh_)) {  // mesh_: its first context is installed by now
    authz_ = std::make_unique<Authorizer>(cfg_.service);
    auto w = IntentionWatch::create({.client = clientCfg, .destination = cfg_.service},
                                    [this](std::shared_ptr<const IntentionSet> set) {
                                      asio::post(io_, [this, set = std::move(set)]() mutable {
                                        intentionsChanged(std::move(set));
                                      });
                                    });
    if (!w.ok()) return w.error();
    intentionWatch_ = std::move(*w);
  }
  if (inbound_) {
    auto r =
        LoadReporter::create(clientCfg, cfg_.serviceId, cfg_.loadReportInterval, &inboundActive_);
    if (!r.ok()) return r.error();
    loadReporter_ = std::move(*r);
  }
  signals_.async_wait([this](error_code ec, int sig) {
    if (ec) return;
    log_->info("draining signal={} active={} deadline_ms={}", sig, totalActive(),
               cfg_.drainTimeout.count());
    drain();
  });
  acceptMetrics();
  if (inbound_) acceptInbound();
  for (auto& u : upstreams_) accept(*u);
  std::cout << line << std::endl;
  return {};
}

Result<std::shared_ptr<asio::ssl::context>> ProxyImpl::loadTls() const {
  tls::TlsConfig t;
  t.caFile = cfg_.tls.caFile;
  t.certFile = cfg_.tls.certFile;
  t.keyFile = cfg_.tls.keyFile;
  t.minVersion = tls::TlsVersion::k13;
  t.role = tls::TlsRole::kBoth;
  auto ctx = tls::makeContext(t);
  if (!ctx.ok()) return ctx.error();
  if (cfg_.tlsResumption)
    enableResumption(**ctx, kSessionLifetime);
  else
    disableResumption(**ctx);
  return std::shared_ptr<asio::ssl::context>(std::move(*ctx));
}

void ProxyImpl::waitHup() {
  hup_.async_wait([this](error_code ec, int) {
    if (ec) return;
    auto ctx = loadTls();
    if (ctx.ok()) {
      tls_ = std::move(*ctx);
      log_->info("tls files reloaded cert={}", cfg_.tls.certFile);
    } else {
      log_->warn("tls reload failed, keeping the old files error=\"{}\"", ctx.error().message);
    }
    waitHup();
  });
}

uint64_t ProxyImpl::totalActive() const {
  uint64_t n = inboundCounters_.active;
  for (const auto& u : upstreams_) n += u->counters.active;
  return n;
}

void ProxyImpl::accept(Upstream& u) {
  u.acceptor->async_accept([this, &u](error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || draining_) return;
    if (!ec) {
      if (u.counters.active >= cfg_.maxConnections) {
        ++u.counters.rejectedLimit;
      } else {
        ++u.counters.accepted;
        ++u.counters.active;
        error_code ignored;
        auto remote = s.remote_endpoint(ignored);
        auto a = std::make_shared<Attempt>(Attempt{std::move(s), remote.address().to_string(), {}});
        connectNext(u, std::move(a));
      }
    } else {
      log_->warn("accept failed upstream={} error=\"{}\"", u.cfg.service, ec.message());
    }
    accept(u);
  });
}

void ProxyImpl::connectNext(Upstream& u, std::shared_ptr<Attempt> a) {
  const Instance* inst = a->tried.size() < u.cfg.maxAttempts
                             ? u.balancer.pick(Clock::now(), a->clientKey, a->tried)
                             : nullptr;
  if (!inst) {
    if (a->tried.empty())
      ++u.counters.rejectedNoInstance;
    else
      ++u.counters.failed;
    log_->debug("connection refused upstream={} tried={}", u.cfg.service, a->tried.size());
    closeStream(a->client);
    --u.counters.active;
    finishIfIdle();
    return;
  }
  std::string id = inst->id;
  a->tried.push_back(id);
  error_code ec;
  auto addr = asio::ip::make_address(inst->address, ec);
  auto onFailure = [this, &u, a, id](const std::string& why) {
    ++u.counters.connectFailures;
    if (u.balancer.onConnectFailure(id, Clock::now()))
      log_->warn("instance ejected upstream={} instance={} error=\"{}\"", u.cfg.service, id, why);
    connectNext(u, a);
  };
  if (ec) return onFailure("address \"" + inst->address + "\" is not an IP address");
  auto server = std::make_shared<tcp::socket>(io_);
  auto timer = std::make_shared<asio::steady_timer>(io_, u.cfg.connectTimeout);
  auto timedOut = std::make_shared<bool>(false);
  timer->async_wait([server, timedOut](error_code e) {
    if (e) return;
    *timedOut = true;
    closeStream(*server);
  });
  auto began = Clock::now();
  server->async_connect(tcp::endpoint(addr, inst->port), [this, &u, a, id, server, timer, timedOut,
                                                          began, onFailure](error_code e) {
    timer->cancel();
    if (e || *timedOut) return onFailure(*timedOut ? "connect timed out" : e.message());
    error_code ignored;
    server->set_option(tcp::no_delay(true), ignored);
    a->client.set_option(tcp::no_delay(true), ignored);
    if (!tls_) {
      startRelay(std::move(a->client), std::move(*server), u.counters,
                 upstreamConnected(u, id, began));
      return;
    }
    handshake(
        std::move(*server), asio::ssl::stream_base::client, u.cfg.connectTimeout,
        [this, &u, a, id, began, onFailure](TlsStream stream) {
          // Mesh: the instance must be one of the upstream's (files: the
          // handshake checked -tls-peer-id).
          if (mesh_) {
            if (Status st = checkPeerId(stream, mesh_->upstreamId(u.cfg.service)); !st.ok()) {
              ++u.counters.handshakeFailures;
              log_->warn("upstream instance refused upstream={} instance={} error=\"{}\"",
                         u.cfg.service, id, st.error().message);
              closeStream(stream);
              return onFailure(st.error().message);
            }
          }
          countHandshake(u.counters, stream);
          startRelay(std::move(a->client), std::move(stream), u.counters,
                     upstreamConnected(u, id, began));
        },
        [&u, onFailure](const std::string& why) {
          ++u.counters.handshakeFailures;
          onFailure("TLS: " + why);
        });
  });
}

RelayHooks ProxyImpl::upstreamConnected(Upstream& u, const std::string& id,
                                        Clock::time_point began) {
  u.balancer.onConnectSuccess(id);
  u.balancer.observeLatency(
      id, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - began),
      Clock::now());
  u.balancer.onConnectionStart(id);
  RelayHooks hooks;
  hooks.onFirstResponse = [this, &u, id](std::chrono::microseconds rtt) {
    u.balancer.observeLatency(id, rtt, Clock::now());
  };
  hooks.onDone = [this, &u, id] {
    u.balancer.onConnectionEnd(id);
    --u.counters.active;
    finishIfIdle();
  };
  return hooks;
}

template <class Then, class Fail>
void ProxyImpl::handshake(tcp::socket s, asio::ssl::stream_base::handshake_type type,
                          std::chrono::milliseconds timeout, Then then, Fail fail) {
  auto stream = std::make_shared<TlsStream>(std::move(s), *tls_);  // SSL_new refs the SSL_CTX
  auto timer = std::make_shared<asio::steady_timer>(io_, timeout);
  auto timedOut = std::make_shared<bool>(false);
  timer->async_wait([stream, timedOut](error_code e) {
    if (e) return;
    *timedOut = true;
    closeStream(*stream);
  });
  stream->async_handshake(type, [this, stream, timer, timedOut, then = std::move(then),
                                 fail = std::move(fail)](error_code e) mutable {
    timer->cancel();
    if (e || *timedOut) {
      std::string why = *timedOut ? std::string("handshake timed out")
                                  : tls::describeFailure(e, stream->native_handle());
      closeStream(*stream);
      return fail(why);
    }
    if (Status st = checkPeerId(*stream, cfg_.tls.expectPeerId); !st.ok()) {
      closeStream(*stream);
      return fail(st.error().message);
    }
    then(std::move(*stream));
  });
}

void ProxyImpl::connectLocalApp(std::function<void(tcp::socket)> then) {
  auto server = std::make_shared<tcp::socket>(io_);
  auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
  timer->async_wait([server](error_code e) {
    if (!e) closeStream(*server);
  });
  server->async_connect(localApp_, [this, server, timer, then = std::move(then)](error_code e) {
    timer->cancel();
    if (e || !server->is_open()) {
      ++inboundCounters_.connectFailures;
      ++inboundCounters_.failed;
      log_->warn("local app unreachable addr={} error=\"{}\"", hostPort(localApp_),
                 e ? e.message() : "timed out");
      return then(tcp::socket(io_));
    }
    error_code ignored;
    server->set_option(tcp::no_delay(true), ignored);
    then(std::move(*server));
  });
}

void ProxyImpl::acceptInbound() {
  inbound_->async_accept([this](error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || draining_) return;
    if (!ec && inboundCounters_.active >= cfg_.maxConnections) {
      ++inboundCounters_.rejectedLimit;
    } else if (!ec) {
      ++inboundCounters_.accepted;
      ++inboundCounters_.active;
      inboundActive_.store(inboundCounters_.active, std::memory_order_relaxed);
      auto done = [this] {
        --inboundCounters_.active;
        inboundActive_.store(inboundCounters_.active, std::memory_order_relaxed);
        finishIfIdle();
      };
      error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      // The local app once the client is in (and, with TLS, verified and
      // allowed by the intentions: `source` is its service).
      auto toApp = [this, done](auto client, std::string source) {
        connectLocalApp([this, client, done, source](tcp::socket server) {
          if (!server.is_open()) {
            closeStream(*client);
            return done();
          }
          // close_denied: the intentions may have changed while the app was
          // connecting (intentionsChanged() saw no relay to close yet).
          if (authz_ && cfg_.closeDenied && !authz_->decideSource(source).allowed) {
            ++inboundCounters_.closedDenied;
            log_->warn(
                "established inbound connection closed source={} destination={} "
                "reason=\"an intention changed while connecting\"",
                source, cfg_.service);
            closeStream(*client);
            closeStream(server);
            return done();
          }
          auto rid = std::make_shared<uint64_t>(0);
          auto finished = [this, rid, done] {
            inboundSources_.erase(*rid);
            done();
          };
          *rid = startRelay(std::move(*client), std::move(server), inboundCounters_,
                            {nullptr, finished});
          if (authz_) inboundSources_.emplace(*rid, source);
        });
      };
      if (!tls_) {
        toApp(std::make_shared<tcp::socket>(std::move(s)), std::string());
      } else {
        handshake(
            std::move(s), asio::ssl::stream_base::server, std::chrono::seconds(10),
            [this, toApp, done](TlsStream stream) {
              countHandshake(inboundCounters_, stream);
              auto client = std::make_shared<TlsStream>(std::move(stream));
              std::string source;
              if (authz_) {
                Decision d = authorizeInbound(*client);
                if (!d.allowed) {
                  closeStream(*client);  // before any byte reaches the app
                  return done();
                }
                source = d.source;
              }
              toApp(client, source);
            },
            [this, done](const std::string& why) {
              ++inboundCounters_.handshakeFailures;
              log_->warn("inbound connection refused error=\"{}\"", why);
              done();
            });
      }
    }
    acceptInbound();
  });
}

Decision ProxyImpl::authorizeInbound(TlsStream& s) {
  // The trust domain of the root that verified the client's chain; with no
  // chain (a resumed session, whose ticket a full handshake earned, denied or
  // not) or a root that names none, those of every trusted root.
  std::vector<std::string> trustDomains;
  for (const auto& u : verifiedRootUris(s))
    if (auto td = rootTrustDomain(u)) trustDomains.push_back(*td);
  if (trustDomains.empty())
    for (const auto& u : trustedRootUris(s))
      if (auto td = rootTrustDomain(u)) trustDomains.push_back(*td);
  Decision d = authz_->decide(peerUris(s), trustDomains);
  if (d.allowed) {
    ++inboundCounters_.allowed;
    log_->debug("inbound connection allowed source={} destination={} intention={}", d.source,
                cfg_.service, d.intentionId.empty() ? "default" : d.intentionId);
    return d;
  }
  ++inboundCounters_.denied;
  log_->warn("inbound connection denied source={} destination={} intention={} reason=\"{}\"",
             d.source.empty() ? "-" : d.source, cfg_.service,
             d.intentionId.empty() ? "default" : d.intentionId, d.reason);
  return d;
}

void ProxyImpl::intentionsChanged(std::shared_ptr<const IntentionSet> set) {
  if (!authz_) return;
  bool first = !authz_->ready();
  authz_->update(std::move(set));
  inboundCounters_.intentionsIndex = authz_->index();
  if (first) log_->info("intentions in force destination={}: inbound open", cfg_.service);
  if (!cfg_.closeDenied) return;
  // Collected first: abort() runs the relay's onDone, which edits the maps.
  std::vector<std::pair<uint64_t, Decision>> deny;
  for (const auto& [rid, source] : inboundSources_) {
    Decision d = authz_->decideSource(source);
    if (!d.allowed) deny.emplace_back(rid, std::move(d));
  }
  for (auto& [rid, d] : deny) {
    auto it = relays_.find(rid);
    auto relay = it == relays_.end() ? nullptr : it->second.lock();
    if (!relay) continue;
    ++inboundCounters_.closedDenied;
    log_->warn(
        "established inbound connection closed source={} destination={} intention={} "
        "reason=\"{}\"",
        d.source, cfg_.service, d.intentionId.empty() ? "default" : d.intentionId, d.reason);
    relay->abort();
  }
}

template <class ClientStream, class ServerStream>
uint64_t ProxyImpl::startRelay(ClientStream client, ServerStream server, ListenerCounters& c,
                               RelayHooks hooks) {
  uint64_t rid = nextRelayId_++;
  auto done = std::move(hooks.onDone);
  hooks.onDone = [this, rid, done = std::move(done)] {
    relays_.erase(rid);
    if (done) done();
  };
  auto relay = std::make_shared<Relay<ClientStream, ServerStream>>(
      std::move(client), std::move(server), cfg_.idleTimeout,
      RelayCounters{&c.bytesUp, &c.bytesDown, &c.idleTimeouts, &c.bytesSpliced}, std::move(hooks));
  relays_.emplace(rid, relay);
  relay->start();
  return rid;
}

void ProxyImpl::acceptMetrics() {
  metrics_->async_accept([this](error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      auto buf = std::make_shared<std::string>();
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
      timer->async_wait([sock](error_code e) {
        if (!e) closeStream(*sock);
      });
      // One request per connection, head only, at most 8 KiB.
      asio::async_read_until(
          *sock, asio::dynamic_buffer(*buf, 8192), "\r\n\r\n",
          [this, sock, buf, timer](error_code e, std::size_t) {
            timer->cancel();
            if (e) return closeStream(*sock);
            bool isMetrics =
                buf->rfind("GET /metrics ", 0) == 0 || buf->rfind("GET /metrics?", 0) == 0;
            std::string body;
            if (isMetrics) {
              std::vector<UpstreamSnapshot> ups;
              auto now = Clock::now();
              for (const auto& u : upstreams_)
                ups.push_back({u->cfg.service, std::string(policyName(u->cfg.balancer.policy)),
                               &u->counters, u->balancer.stats(now), u->balancer.totalEjections()});
              body = renderMetrics(inbound_ ? &inboundCounters_ : nullptr, ups, draining_);
              if (mesh_) body += mesh_->renderMetrics();
            } else {
              body = "not found\n";
            }
            auto out = std::make_shared<std::string>(
                std::string(isMetrics ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n") +
                "Content-Type: text/plain; version=0.0.4\r\nConnection: close\r\n"
                "Content-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body);
            asio::async_write(*sock, asio::buffer(*out), [sock, out](error_code, std::size_t) {
              shutdownSend(*sock, nullptr);
              closeStream(*sock);
            });
          });
    }
    acceptMetrics();
  });
}

void ProxyImpl::drain() {
  if (draining_) return;
  draining_ = true;
  error_code ignored;
  if (inbound_) inbound_->close(ignored);
  hup_.cancel(ignored);
  for (auto& u : upstreams_) u->acceptor->close(ignored);
  drainTimer_ = std::make_unique<asio::steady_timer>(io_, cfg_.drainTimeout);
  drainTimer_->async_wait([this](error_code ec) {
    if (ec) return;
    log_->warn("drain deadline reached, closing connections active={}", totalActive());
    auto live = relays_;
    for (auto& [id, w] : live)
      if (auto r = w.lock()) r->abort();
    io_.stop();
  });
  finishIfIdle();
}

void ProxyImpl::finishIfIdle() {
  if (!draining_ || totalActive() > 0) return;
  log_->info("drained");
  io_.stop();
}

}  // namespace

int runProxy(const ProxyConfig& config) {
  // The TLS legs write with OpenSSL's socket BIO (write(2), not send with
  // MSG_NOSIGNAL): a peer gone must be an EPIPE, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<ProxyImpl>(config);
  if (Status st = impl->start(); !st.ok()) {
    std::cerr << "cairn proxy: " << st.error().message << "\n";
    return 1;
  }
  impl->run();
  return 0;
}

int runProxyCommand(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "-h" || a == "-help" || a == "--help") {
      std::cout << kProxyUsage;
      return 0;
    }
  }
  auto cfg = parseProxyArgs(args);
  if (!cfg.ok()) {
    std::cerr << "cairn proxy: " << cfg.error().message << "\n\n" << kProxyUsage;
    return 2;
  }
  if (cfg->fromRegistration()) {
    if (Status st = loadRegistration(*cfg); !st.ok()) {
      std::cerr << "cairn proxy: " << st.error().message << "\n";
      return 1;
    }
  }
  if (!log::setLevel(cfg->logLevel)) {
    std::cerr << "cairn proxy: -log-level: unknown level \"" << cfg->logLevel << "\"\n";
    return 2;
  }
  return runProxy(*cfg);
}

}  // namespace cairn::proxy
