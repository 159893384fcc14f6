#include "proxy/balancer.hpp"

#include <algorithm>
#include <cmath>

namespace cairn::proxy {

namespace {

constexpr std::pair<std::string_view, Policy> kPolicies[] = {
    {"round_robin", Policy::kRoundRobin}, {"weighted", Policy::kWeighted},
    {"random", Policy::kRandom},          {"least_request", Policy::kLeastRequest},
    {"peak_ewma", Policy::kPeakEwma},     {"ring_hash", Policy::kRingHash},
};

// Caps the points one instance puts on the ring, so a huge weight cannot
// make the ring huge.
constexpr uint64_t kMaxRingPoints = 10000;

}  // namespace

Result<Policy> parsePolicy(std::string_view name) {
  for (const auto& [n, p] : kPolicies)
    if (n == name) return p;
  return invalidArgument("unknown balancing policy \"" + std::string(name) +
                         "\" (use round_robin, weighted, random, least_request, peak_ewma or "
                         "ring_hash)");
}

std::string_view policyName(Policy policy) {
  for (const auto& [n, p] : kPolicies)
    if (p == policy) return n;
  return "unknown";
}

Status BalancerConfig::validate() const {
  if (ewmaDecay.count() <= 0) return invalidArgument("ewma_decay: must be > 0");
  if (defaultRtt.count() <= 0) return invalidArgument("default_rtt: must be > 0");
  if (ringPointsPerInstance == 0) return invalidArgument("ring_points: must be > 0");
  if (ejectAfter == 0) return invalidArgument("eject_after: must be > 0");
  if (ejectBase.count() <= 0) return invalidArgument("eject_base: must be > 0");
  if (ejectMax < ejectBase) return invalidArgument("eject_max: must be >= eject_base");
  return {};
}

uint64_t ringHash(std::string_view key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // splitmix64's finalizer: FNV alone clusters keys that differ at the end.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

Balancer::Balancer(BalancerConfig config) : config_(config), rng_(config.seed) {}

void Balancer::setInstances(std::vector<Instance> instances) {
  std::vector<Instance> next;
  std::vector<State> nextStates;
  std::unordered_map<std::string, size_t> nextById;
  next.reserve(instances.size());
  for (auto& inst : instances) {
    if (nextById.count(inst.id)) continue;
    nextById.emplace(inst.id, next.size());
    const State* old = find(inst.id);
    nextStates.push_back(old ? *old : State{});
    next.push_back(std::move(inst));
  }
  instances_ = std::move(next);
  states_ = std::move(nextStates);
  byId_ = std::move(nextById);
  if (config_.policy == Policy::kRingHash) rebuildRing();
}

void Balancer::rebuildRing() {
  ring_.clear();
  for (size_t k = 0; k < instances_.size(); ++k) {
    uint64_t points = std::min<uint64_t>(
        uint64_t{config_.ringPointsPerInstance} * std::max<uint32_t>(instances_[k].weight, 1),
        kMaxRingPoints);
    // Points depend only on the instance's id, so adding or removing one
    // instance leaves every other instance's points where they were.
    for (uint64_t i = 0; i < points; ++i)
      ring_.emplace_back(ringHash(instances_[k].id + "#" + std::to_string(i)), k);
  }
  std::sort(ring_.begin(), ring_.end());
}

Balancer::State* Balancer::find(std::string_view id) {
  auto it = byId_.find(std::string(id));
  return it == byId_.end() ? nullptr : &states_[it->second];
}

size_t Balancer::uniform(size_t n) {
  return static_cast<size_t>(std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_));
}

double Balancer::decayedEwma(const State& s, TimePoint now) const {
  if (s.ewma < 0) return static_cast<double>(config_.defaultRtt.count());
  // Decays towards zero while there is no new sample, so an instance that
  // was slow once is tried again eventually (as tower's PeakEwma does).
  double elapsed = std::chrono::duration<double, std::micro>(now - s.ewmaAt).count();
  if (elapsed <= 0) return s.ewma;
  double tau = std::chrono::duration<double, std::micro>(config_.ewmaDecay).count();
  return s.ewma * std::exp(-elapsed / tau);
}

double Balancer::cost(size_t k, TimePoint now) const {
  const State& s = states_[k];
  return decayedEwma(s, now) * (s.active + 1);
}

const Instance* Balancer::pick(TimePoint now, std::string_view clientKey,
                               std::span<const std::string> tried) {
  auto wasTried = [&](const std::string& id) {
    return std::find(tried.begin(), tried.end(), id) != tried.end();
  };
  std::vector<size_t> candidates;
  std::vector<size_t> ejected;
  for (size_t k = 0; k < instances_.size(); ++k) {
    if (wasTried(instances_[k].id)) continue;
    (isEjected(states_[k], now) ? ejected : candidates).push_back(k);
  }
  if (candidates.empty()) candidates = std::move(ejected);  // panic mode
  if (candidates.empty()) return nullptr;
  std::optional<size_t> chosen = choose(candidates, clientKey, now);
  if (!chosen) return nullptr;
  ++states_[*chosen].picks;
  return &instances_[*chosen];
}

std::optional<size_t> Balancer::choose(const std::vector<size_t>& candidates,
                                       std::string_view clientKey, TimePoint now) {
  switch (config_.policy) {
    case Policy::kRoundRobin: {
      // The first candidate at or after the cursor, in list order.
      size_t n = instances_.size();
      for (size_t step = 0; step < n; ++step) {
        size_t k = (rrNext_ + step) % n;
        if (std::binary_search(candidates.begin(), candidates.end(), k)) {
          rrNext_ = (k + 1) % n;
          return k;
        }
      }
      return std::nullopt;
    }
    case Policy::kWeighted: {
      // nginx's smooth weighted round robin: exact shares, interleaved.
      int64_t total = 0;
      std::optional<size_t> best;
      for (size_t k : candidates) {
        int64_t w = instances_[k].weight;
        if (w == 0) continue;
        states_[k].swrrCurrent += w;
        total += w;
        if (!best || states_[k].swrrCurrent > states_[*best].swrrCurrent) best = k;
      }
      if (!best) return candidates[uniform(candidates.size())];  // all weights 0
      states_[*best].swrrCurrent -= total;
      return best;
    }
    case Policy::kRandom:
      return candidates[uniform(candidates.size())];
    case Policy::kLeastRequest:
    case Policy::kPeakEwma: {
      // Power of two choices: two distinct random candidates, the cheaper
      // wins (ties to the first, which is itself random).
      if (candidates.size() == 1) return candidates[0];
      size_t i = uniform(candidates.size());
      size_t j = uniform(candidates.size() - 1);
      if (j >= i) ++j;
      size_t a = candidates[i], b = candidates[j];
      if (config_.policy == Policy::kLeastRequest)
        return states_[b].active < states_[a].active ? b : a;
      return cost(b, now) < cost(a, now) ? b : a;
    }
    case Policy::kRingHash:
      return ringLookup(candidates, clientKey);
  }
  return std::nullopt;
}

std::optional<size_t> Balancer::ringLookup(const std::vector<size_t>& candidates,
                                           std::string_view clientKey) const {
  if (ring_.empty()) return std::nullopt;
  uint64_t h = ringHash(clientKey);
  auto start = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(h, size_t{0}));
  size_t first = static_cast<size_t>(start - ring_.begin()) % ring_.size();
  // Clockwise to the first point of a candidate: an ejected or tried
  // instance's keys spill to its ring neighbours only.
  for (size_t step = 0; step < ring_.size(); ++step) {
    size_t k = ring_[(first + step) % ring_.size()].second;
    if (std::binary_search(candidates.begin(), candidates.end(), k)) return k;
  }
  return std::nullopt;
}

void Balancer::onConnectSuccess(std::string_view id) {
  State* s = find(id);
  if (!s) return;
  s->failures = 0;
  s->level = 0;
  s->probation = false;
}

bool Balancer::onConnectFailure(std::string_view id, TimePoint now) {
  State* s = find(id);
  if (!s) return false;
  if (isEjected(*s, now)) return false;  // a straggler from before the ejection
  ++s->failures;
  if (!s->probation && s->failures < config_.ejectAfter) return false;
  ++s->level;
  auto backoff = config_.ejectBase;
  for (uint32_t i = 1; i < s->level && backoff < config_.ejectMax; ++i) backoff *= 2;
  s->ejectedUntil = now + std::min(backoff, config_.ejectMax);
  s->failures = 0;
  s->probation = true;
  ++s->ejections;
  ++totalEjections_;
  return true;
}

void Balancer::onConnectionStart(std::string_view id) {
  if (State* s = find(id)) ++s->active;
}

void Balancer::onConnectionEnd(std::string_view id) {
  if (State* s = find(id); s && s->active > 0) --s->active;
}

void Balancer::observeLatency(std::string_view id, std::chrono::microseconds rtt, TimePoint now) {
  State* s = find(id);
  if (!s) return;
  double sample = static_cast<double>(rtt.count());
  if (s->ewma < 0) {
    s->ewma = sample;
  } else {
    double decayed = decayedEwma(*s, now);
    if (sample > decayed) {
      s->ewma = sample;
    } else {
      double elapsed = std::chrono::duration<double, std::micro>(now - s->ewmaAt).count();
      double tau = std::chrono::duration<double, std::micro>(config_.ewmaDecay).count();
      double w = std::exp(-std::max(elapsed, 0.0) / tau);
      s->ewma = s->ewma * w + sample * (1 - w);
    }
  }
  s->ewmaAt = now;
}

std::vector<InstanceStats> Balancer::stats(TimePoint now) const {
  std::vector<InstanceStats> out;
  out.reserve(instances_.size());
  for (size_t k = 0; k < instances_.size(); ++k) {
    const State& s = states_[k];
    out.push_back(
        {instances_[k].id, s.picks, s.ejections, s.active, isEjected(s, now), decayedEwma(s, now)});
  }
  return out;
}

}  // namespace cairn::proxy
