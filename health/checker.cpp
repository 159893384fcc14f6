#include "health/checker.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "health/probe.hpp"
#include "health/rendezvous.hpp"
#include "health/schedule.hpp"
#include "registry/command.hpp"
#include "registry/view.hpp"

namespace cairn::health {
namespace {

namespace asio = boost::asio;
using registry::Check;
using registry::HealthStatus;
using std::chrono::milliseconds;

// Posts onto the checker's thread unless the checker has stopped. Shared by
// the callbacks that may outlive the checker (watch fires, proposal acks).
struct Gate {
  std::mutex mu;
  bool open = true;
  asio::io_context* ioc = nullptr;

  template <typename F>
  void post(F&& f) {
    std::lock_guard lk(mu);
    if (open) asio::post(*ioc, std::forward<F>(f));
  }
  void close() {
    std::lock_guard lk(mu);
    open = false;
  }
};

milliseconds durationOr(const std::string& text, milliseconds dflt) {
  if (text.empty()) return dflt;
  auto d = parseDuration(text);
  return d.ok() ? *d : dflt;
}

// One check this server runs. Lives on the checker's thread. Its runs are
// items of the checker's one RunQueue, found again by `generation`.
struct Entry {
  Entry(asio::io_context& ioc, std::string k, registry::CheckPtr c, StatusMachine m)
      : key(std::move(k)), check(*c), seen(std::move(c)), machine(std::move(m)), ttlTimer(ioc) {}
  std::string key;          // the catalog's key (registry::instanceKey)
  Check check;              // as last seen in the catalog
  registry::CheckPtr seen;  // the catalog's object last seen (unchanged: the same pointer)
  StatusMachine machine;
  asio::steady_timer ttlTimer;  // TTL expiry
  uint64_t generation = 0;      // unique per entry: a new entry when the definition changes
  uint64_t syncMark = 0;        // the last sync() that found the check in the catalog
  // Worked out once from the definition (an entry is rebuilt when it
  // changes): what a run starts, and how often.
  PreparedProbePtr probe;
  milliseconds interval{0};
  bool inFlight = false;
  std::optional<Clock::time_point> criticalSince;
  bool deregisterProposed = false;
};

class CheckerImpl final : public Checker {
 public:
  CheckerImpl(CheckerConfig cfg, registry::WatchHub& hub, registry::Replicator& replicator)
      : cfg_(std::move(cfg)),
        hub_(hub),
        replicator_(replicator),
        gate_(std::make_shared<Gate>()),
        work_(asio::make_work_guard(ioc_)),
        runTimer_(ioc_),
        metrics_(cfg_.metrics ? cfg_.metrics : &unused_),
        flushTimer_(ioc_),
        reapTimer_(ioc_),
        ownershipTimer_(ioc_),
        self_(replicator.selfId()),
        rng_(cfg_.seed ? cfg_.seed : std::random_device{}()),
        log_(log::get("health")) {
    gate_->ioc = &ioc_;
  }

  ~CheckerImpl() override {
    gate_->close();
    {
      std::lock_guard lk(watchMu_);
      if (watchId_) hub_.cancel(watchId_);
    }
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    bySlot_.clear();
    entries_.clear();  // timers before the io_context
  }

  Status start() {
    ProberOptions po;
    po.close = cfg_.probeClose;
    po.ioUring = cfg_.probeIoUring;
    if (cfg_.runGranularity.count() > 0) po.ringPoll = cfg_.runGranularity;
    auto p = Prober::create(ioc_, po);
    if (!p.ok()) return p.error();
    prober_ = std::move(*p);
    asio::post(ioc_, [this] {
      readLiveness();
      sync();
      scheduleReap();
      scheduleOwnershipPoll();
    });
    thread_ = std::thread([this] { ioc_.run(); });
    return {};
  }

  void ttlReported(const registry::Replicator::TtlReport& report, bool fromAnotherServer) override {
    gate_->post([this, report, fromAnotherServer] {
      auto key = registry::instanceKey(report.node, report.checkId);
      auto it = entries_.find(key);
      if (it != entries_.end()) {
        if (it->second->check.type != "ttl") return;
        Entry& e = *it->second;
        e.machine.catalogChanged(report.status, report.output);
        armTtl(e);
        return;
      }
      // Not running here: the server that runs it keeps the timer.
      if (fromAnotherServer || self_.empty()) return;
      std::string owner = rendezvousOwner(key, live_);
      if (!owner.empty() && owner != self_) {
        forwarded_.fetch_add(1, std::memory_order_relaxed);
        replicator_.forwardTtl(owner, report);
      }
    });
  }

  uint64_t proposals() const override { return proposals_.load(std::memory_order_relaxed); }
  size_t running() const override { return running_.load(std::memory_order_relaxed); }
  uint64_t ttlForwarded() const override { return forwarded_.load(std::memory_order_relaxed); }

  void renderMetrics(std::string& out) const override {
    out += "# HELP cairn_health_checks_running Health checks running on this server.\n";
    out += "# TYPE cairn_health_checks_running gauge\n";
    out += "cairn_health_checks_running " + std::to_string(running()) + "\n";
    out += "# HELP cairn_health_status_proposals_total Status writes proposed by the checker.\n";
    out += "# TYPE cairn_health_status_proposals_total counter\n";
    out += "cairn_health_status_proposals_total " + std::to_string(proposals()) + "\n";
    out +=
        "# HELP cairn_health_ttl_forwarded_total TTL reports passed to the server running "
        "their check.\n";
    out += "# TYPE cairn_health_ttl_forwarded_total counter\n";
    out += "cairn_health_ttl_forwarded_total " + std::to_string(ttlForwarded()) + "\n";
    out +=
        "# HELP cairn_health_probes_io_uring_total HTTP and TCP probes made through io_uring "
        "(the rest through epoll).\n";
    out += "# TYPE cairn_health_probes_io_uring_total counter\n";
    out += "cairn_health_probes_io_uring_total " +
           std::to_string(prober_ ? prober_->ioUringProbes() : 0) + "\n";
  }

 private:
  bool runnable(const Check& c) const {
    if (c.type == "http" || c.type == "tcp" || c.type == "ttl" || c.type == "grpc") return true;
    return c.type == "script" && cfg_.enableScriptChecks;
  }

  // Whether this server runs the check with catalog key `key`.
  bool owns(const std::string& key) const {
    if (self_.empty()) return true;  // one server runs them all
    if (ownNothing_) return false;
    return rendezvousOwner(key, live_) == self_;
  }

  // Reads the published live servers. True when which checks run here may
  // have changed. On the checker's thread.
  bool readLiveness() {
    if (self_.empty()) return false;
    auto l = replicator_.liveness();
    auto now = Clock::now();
    if (l.stale) {
      // Cut off from the leader: keep going for a moment (an election is
      // short), then stop; the other side has published a list without us.
      if (!staleSince_) staleSince_ = now;
      if (ownNothing_ || now - *staleSince_ < cfg_.staleGrace) return false;
      log_->warn("no leader for {} ms: this server stops running health checks until it hears one",
                 std::chrono::duration_cast<milliseconds>(now - *staleSince_).count());
      ownNothing_ = true;
      ++ownershipVersion_;
      return true;
    }
    staleSince_.reset();
    if (!ownNothing_ && l.epoch == epoch_ && l.live == live_) return false;
    if (ownNothing_) log_->info("leader heard again: running health checks");
    ++ownershipVersion_;
    ownNothing_ = false;
    epoch_ = l.epoch;
    live_ = std::move(l.live);
    return true;
  }

  void scheduleOwnershipPoll() {
    if (self_.empty()) return;
    ownershipTimer_.expires_after(cfg_.ownershipPoll);
    ownershipTimer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      if (readLiveness()) sync();
      scheduleOwnershipPoll();
    });
  }

  // Brings the set of checks in line with the catalog, then waits for the
  // next change of the checks table. On the checker's thread.
  //
  // Still one walk of the checks table per change of it, but a check whose
  // catalog object is the one already seen (the catalog's persistent map
  // keeps untouched values) costs one lookup: no comparison, no allocation.
  void sync() {
    registry::ViewPtr view = hub_.view();
    seenIndex_ = view->checksIndex;
    const uint64_t mark = ++syncMarks_;
    const bool sameOwners = syncedOwnership_ == ownershipVersion_;
    syncedOwnership_ = ownershipVersion_;
    std::array<uint64_t, kCheckKinds> counts{};
    view->checks.forEach([&](const std::string& key, const registry::CheckPtr& c) {
      auto it = entries_.find(key);
      if (sameOwners && it != entries_.end() && it->second->seen == c) {
        it->second->syncMark = mark;  // unchanged, and still ours
        ++counts[static_cast<size_t>(checkKindOf(c->type))];
        return true;
      }
      if (!runnable(*c) || !owns(key)) return true;
      ++counts[static_cast<size_t>(checkKindOf(c->type))];
      if (it == entries_.end()) {
        add(key, c)->syncMark = mark;
      } else if (!(it->second->check.definition == c->definition) ||
                 it->second->check.type != c->type) {
        drop(it);
        add(key, c)->syncMark = mark;
      } else {
        observe(*it->second, c);
        it->second->syncMark = mark;
      }
      return true;
    });
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->second->syncMark == mark) {
        ++it;
      } else {
        pending_.erase(it->first);
        it = drop(it);
      }
    }
    running_.store(entries_.size(), std::memory_order_relaxed);
    metrics_->setChecks(counts);
    std::lock_guard lk(watchMu_);
    // sync() also runs when ownership changes: one watch at a time.
    if (watchId_) hub_.cancel(watchId_);
    uint64_t seen = seenIndex_;
    watchId_ = hub_.watch(
        {std::string(registry::kChecksTableKey)},
        [seen](const registry::View& v) { return v.checksIndex != seen; },
        [gate = gate_, this] { gate->post([this] { sync(); }); });
    if (watchId_ == 0) asio::post(ioc_, [this] { sync(); });
  }

  // Forgets an entry; its queued run and any probe in flight find nothing.
  template <typename It>
  It drop(It it) {
    uint64_t gen = it->second->generation;
    bySlot_[gen & kSlotMask] = nullptr;
    freeSlots_.push_back(static_cast<uint32_t>(gen & kSlotMask));
    reapable_.erase(gen);
    return entries_.erase(it);
  }

  // The catalog's copy of a check we run changed (or not).
  void observe(Entry& e, const registry::CheckPtr& cp) {
    const Check& c = *cp;
    if (c.status != e.check.status || c.output != e.check.output)
      e.machine.catalogChanged(c.status, c.output);
    if (c.status == HealthStatus::kCritical) {
      if (!e.criticalSince) e.criticalSince = Clock::now();
    } else {
      e.criticalSince.reset();
      e.deregisterProposed = false;
    }
    e.check = c;
    e.seen = cp;
  }

  Entry* add(const std::string& key, const registry::CheckPtr& cp) {
    const Check& c = *cp;
    auto e = std::make_unique<Entry>(ioc_, key, cp,
                                     StatusMachine(Thresholds::of(c.definition), c.status, c.output,
                                                   Clock::time_point{}, cfg_.checkUpdateInterval));
    uint32_t slot;
    if (freeSlots_.empty()) {
      slot = static_cast<uint32_t>(bySlot_.size());
      bySlot_.push_back(nullptr);
    } else {
      slot = freeSlots_.back();
      freeSlots_.pop_back();
    }
    e->generation = (++generations_ << kSlotBits) | slot;
    if (c.status == HealthStatus::kCritical) e->criticalSince = Clock::now();
    Entry& ref = *e;
    entries_[key] = std::move(e);
    bySlot_[slot] = &ref;
    if (!c.definition.deregisterCriticalServiceAfter.empty()) reapable_.insert(ref.generation);
    if (c.type == "ttl") {
      armTtl(ref);
      return &ref;
    }
    milliseconds interval = durationOr(c.definition.interval, milliseconds(0));
    if (interval.count() <= 0) {
      log_->warn("check has no valid interval, not run node={} check_id={} interval={}", c.node,
                 c.checkId, c.definition.interval);
      return &ref;
    }
    ref.interval = std::max(interval, cfg_.minInterval);
    ref.probe = prepare(c);
    scheduleRun(ref, Clock::now() + firstRunDelay(ref.interval, rng_));
    return &ref;
  }

  // An array index and a compare (a hash lookup here, twice per probe, was
  // a visible share of the checker's CPU at 1,000 probes/s).
  Entry* byGeneration(uint64_t gen) {
    uint64_t slot = gen & kSlotMask;
    if (slot >= bySlot_.size()) return nullptr;
    Entry* e = bySlot_[slot];
    return e && e->generation == gen ? e : nullptr;
  }

  PreparedProbePtr prepare(const Check& c) {
    const auto& d = c.definition;
    milliseconds timeout = durationOr(d.timeout, kDefaultProbeTimeout);
    if (c.type == "http") {
      HttpProbeSpec s;
      s.url = d.http;
      s.method = d.method.empty() ? "GET" : d.method;
      s.header = d.header;
      s.body = d.body;
      s.timeout = timeout;
      s.tlsSkipVerify = d.tlsSkipVerify;
      s.tlsServerName = d.tlsServerName;
      return prober_->prepare(std::move(s));
    }
    if (c.type == "tcp") {
      TcpProbeSpec s;
      s.address = d.tcp;
      s.timeout = timeout;
      return prober_->prepare(std::move(s));
    }
    if (c.type == "grpc") {
      GrpcProbeSpec s;
      s.target = d.grpc;
      s.useTls = d.grpcUseTls;
      s.timeout = timeout;
      s.tlsSkipVerify = d.tlsSkipVerify;
      s.tlsServerName = d.tlsServerName;
      return prober_->prepare(std::move(s));
    }
    ScriptProbeSpec s;
    s.args = d.args;
    s.timeout = timeout;
    return prober_->prepare(std::move(s));
  }

  // Queues the entry's next run; the one run timer is moved earlier if
  // this run is due before the time it is set for.
  void scheduleRun(Entry& e, Clock::time_point due) {
    runs_.push(due, e.generation);
    armRunTimer();
  }

  void armRunTimer() {
    if (runs_.empty()) return;
    Clock::time_point at = std::max(runs_.earliest(), lastRunDue_ + Clock::duration(1));
    if (cfg_.runGranularity.count() > 0) {
      // On the granularity's grid of the steady clock, as the prober's ring
      // polls: both wake together. Still at most one wake-up per step.
      auto step = std::chrono::duration_cast<Clock::duration>(cfg_.runGranularity);
      at = Clock::time_point(((at.time_since_epoch() + step - Clock::duration(1)) / step) * step);
    }
    if (runArmed_ && at >= runArmedAt_) return;
    runArmed_ = true;
    runArmedAt_ = at;
    runTimer_.expires_at(at);  // a wait pending for a later time ends with operation_aborted
    runTimer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      runArmed_ = false;
      runDue();
    });
  }

  // Starts every run that is due, queues each check's next run, re-arms.
  void runDue() {
    RunQueue<Clock::time_point>::Item item{};
    Clock::time_point now = Clock::now();
    lastRunDue_ = now;
    while (runs_.popDue(now, item)) {
      Entry* e = byGeneration(item.id);
      if (!e) continue;  // dropped or redefined since
      runs_.push(nextRunAfter(item.due, now, e->interval), item.id);
      if (e->inFlight) {
        metrics_->probeSkipped();
      } else {
        metrics_->probeStarted(
            checkKindOf(e->check.type),
            std::chrono::duration_cast<std::chrono::microseconds>(now - item.due));
        run(*e);
      }
      now = Clock::now();
    }
    armRunTimer();
  }

  void run(Entry& e) {
    e.inFlight = true;
    // Captures fit std::function's inline storage: no allocation per run.
    prober_->run(e.probe, [this, gen = e.generation](ProbeResult r) {
      // Probes complete on this thread (the prober shares the io_context).
      Entry* en = byGeneration(gen);
      if (!en) return;
      en->inFlight = false;
      result(*en, std::move(r));
    });
  }

  void result(Entry& e, ProbeResult r) {
    metrics_->probeFinished(r.status);
    auto u = e.machine.onResult(r.status, std::move(r.output), Clock::now());
    if (u) queue(e, u->status, u->output);
  }

  void armTtl(Entry& e) {
    milliseconds ttl = durationOr(e.check.definition.ttl, milliseconds(0));
    if (ttl.count() <= 0) return;
    e.ttlTimer.expires_after(ttl);
    e.ttlTimer.async_wait([this, gen = e.generation](boost::system::error_code ec) {
      if (ec) return;
      Entry* found = byGeneration(gen);
      if (!found) return;
      Entry& en = *found;
      std::string out = "TTL expired";
      if (!en.machine.output().empty() && en.machine.output() != out)
        out += " (last output before timeout follows): " + en.machine.output();
      if (out.size() > kMaxOutputBytes) out.resize(kMaxOutputBytes);
      if (en.machine.status() == HealthStatus::kCritical && en.machine.output() == out) return;
      en.machine.catalogChanged(HealthStatus::kCritical, out);
      queue(en, HealthStatus::kCritical, out);
    });
  }

  void queue(Entry& e, HealthStatus s, std::string output) {
    pending_[e.key] =
        registry::CheckStatusCommand{e.check.node, e.check.checkId, s, std::move(output)};
    if (flushArmed_) return;
    flushArmed_ = true;
    flushTimer_.expires_after(cfg_.batchWindow);
    flushTimer_.async_wait([this](boost::system::error_code ec) {
      flushArmed_ = false;
      if (!ec) flush();
    });
  }

  // Every change found within the batch window: one batch command, or one
  // proposal per changed check when batches are off (the replicator still
  // commits concurrent proposals together).
  void flush() {
    auto batch = std::move(pending_);
    pending_.clear();
    if (batch.size() > 1 && replicator_.clusterCommandVersion() >= 2) {
      registry::CheckStatusBatchCommand b;
      std::vector<std::string> keys;
      for (auto& [key, cmd] : batch) {
        keys.push_back(key);
        b.updates.push_back(std::move(cmd));
      }
      propose(std::move(keys), registry::Command(std::move(b)));
      return;
    }
    for (auto& [key, cmd] : batch) propose({key}, registry::Command(std::move(cmd)));
  }

  void propose(std::vector<std::string> keys, const registry::Command& cmd) {
    proposals_.fetch_add(1, std::memory_order_relaxed);
    replicator_.propose(registry::encodeCommand(cmd),
                        [gate = gate_, this, keys = std::move(keys)](const Result<uint64_t>& r) {
                          if (r.ok()) return;
                          gate->post([this, keys, err = r.error().message] {
                            for (const auto& key : keys) failed(key, err);
                          });
                        });
  }

  // A write did not land: compare the next result with the catalog again.
  void failed(const std::string& key, const std::string& err) {
    log_->warn("check status write failed key={} error={}", key, err);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    it->second->machine.catalogChanged(it->second->check.status, it->second->check.output);
    it->second->deregisterProposed = false;
  }

  void scheduleReap() {
    reapTimer_.expires_after(cfg_.reapEvery);
    reapTimer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      reap();
      scheduleReap();
    });
  }

  // deregister_critical_service_after: the service goes once its check has
  // been critical in the catalog for that long.
  void reap() {
    auto now = Clock::now();
    for (uint64_t gen : reapable_) {
      Entry* e = byGeneration(gen);
      if (!e) continue;
      const std::string& key = e->key;
      const auto& d = e->check.definition;
      if (d.deregisterCriticalServiceAfter.empty() || e->check.serviceId.empty()) continue;
      if (!e->criticalSince || e->deregisterProposed) continue;
      milliseconds after = durationOr(d.deregisterCriticalServiceAfter, milliseconds(0));
      if (after.count() <= 0 || now - *e->criticalSince < after) continue;
      log_->info("deregistering service critical for too long node={} service_id={} check_id={}",
                 e->check.node, e->check.serviceId, e->check.checkId);
      e->deregisterProposed = true;
      propose({key}, registry::DeregisterCommand{e->check.node, e->check.serviceId, ""});
    }
  }

  CheckerConfig cfg_;
  registry::WatchHub& hub_;
  registry::Replicator& replicator_;
  std::shared_ptr<Gate> gate_;
  // Destroyed after the io_context: abandoned probes may still refer to it.
  std::unique_ptr<Prober> prober_;
  // One thread runs it (other threads only post): lets Asio skip some locking.
  asio::io_context ioc_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  // By catalog key (sync, TTL reports); by generation (runs, results).
  std::unordered_map<std::string, std::unique_ptr<Entry>> entries_;
  // Entries by generation. A generation is (serial << kSlotBits) | slot: the
  // slot finds the entry, the whole number tells a live entry from an
  // earlier one that had the slot (a dropped or redefined check).
  static constexpr unsigned kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;
  std::vector<Entry*> bySlot_;
  std::vector<uint32_t> freeSlots_;
  // The entries with deregister_critical_service_after: all that reap() looks at.
  std::unordered_set<uint64_t> reapable_;
  // Every check's next run, and the one timer set for the earliest.
  RunQueue<Clock::time_point> runs_;
  asio::steady_timer runTimer_;
  bool runArmed_ = false;
  Clock::time_point runArmedAt_{};
  Clock::time_point lastRunDue_{};  // when runDue() last started
  std::map<std::string, registry::CheckStatusCommand> pending_;
  CheckerMetrics unused_;    // counts nobody reads, when the config gives none
  CheckerMetrics* metrics_;  // never null
  asio::steady_timer flushTimer_;
  asio::steady_timer reapTimer_;
  asio::steady_timer ownershipTimer_;
  // Ownership (see checker.hpp): this server's id, the live servers.
  const std::string self_;
  std::vector<std::string> live_;
  uint64_t epoch_ = 0;
  bool ownNothing_ = false;
  std::optional<Clock::time_point> staleSince_;
  bool flushArmed_ = false;
  std::mt19937_64 rng_;
  uint64_t generations_ = 0;
  uint64_t seenIndex_ = 0;
  uint64_t syncMarks_ = 0;
  // Bumped when which checks this server owns may have changed; sync()
  // re-decides ownership of unchanged checks only then.
  uint64_t ownershipVersion_ = 0;
  uint64_t syncedOwnership_ = 0;
  std::mutex watchMu_;
  uint64_t watchId_ = 0;
  std::atomic<uint64_t> proposals_{0};
  std::atomic<uint64_t> forwarded_{0};
  std::atomic<size_t> running_{0};
  std::shared_ptr<spdlog::logger> log_;
  std::thread thread_;
};

}  // namespace

Status CheckerConfig::validate() const {
  if (batchWindow.count() < 0) return invalidArgument("health: batch_window must be >= 0");
  if (minInterval.count() <= 0) return invalidArgument("health: min_interval must be > 0");
  if (runGranularity.count() < 0 || runGranularity > std::chrono::seconds(1))
    return invalidArgument("health: run_granularity must be in [0, 1s]");
  if (reapEvery.count() <= 0) return invalidArgument("health: reap_every must be > 0");
  return {};
}

Result<std::unique_ptr<Checker>> Checker::create(CheckerConfig cfg, registry::WatchHub& hub,
                                                 registry::Replicator& replicator) {
  if (Status st = cfg.validate(); !st.ok()) return st.error();
  auto c = std::make_unique<CheckerImpl>(std::move(cfg), hub, replicator);
  if (Status st = c->start(); !st.ok()) return st.error();
  return std::unique_ptr<Checker>(std::move(c));
}

}  // namespace cairn::health
