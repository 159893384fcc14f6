#include "health/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace cairn::health {
namespace {

constexpr const char* kKindNames[kCheckKinds] = {"http", "tcp", "ttl", "script", "grpc"};
constexpr const char* kStatusNames[3] = {"passing", "warning", "critical"};

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const char* label, const char* value,
            const std::string& n) {
  out += name;
  if (label) {
    out += '{';
    out += label;
    out += "=\"";
    out += value;
    out += "\"}";
  }
  out += ' ';
  out += n;
  out += '\n';
}

std::string seconds(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(us) / 1e6);
  return buf;
}

uint64_t get(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

}  // namespace

CheckKind checkKindOf(const std::string& type) {
  if (type == "http") return CheckKind::kHttp;
  if (type == "tcp") return CheckKind::kTcp;
  if (type == "ttl") return CheckKind::kTtl;
  if (type == "grpc") return CheckKind::kGrpc;
  return CheckKind::kScript;
}

size_t latenessBucket(std::chrono::microseconds lateness) {
  uint64_t us = lateness.count() < 0 ? 0 : static_cast<uint64_t>(lateness.count());
  auto it = std::lower_bound(kLatenessBoundsUs.begin(), kLatenessBoundsUs.end(), us);
  return static_cast<size_t>(it - kLatenessBoundsUs.begin());
}

void CheckerMetrics::probeStarted(CheckKind kind, std::chrono::microseconds lateness) {
  inc(started_[static_cast<size_t>(kind)]);
  inc(lateness_[latenessBucket(lateness)]);
  uint64_t us = lateness.count() < 0 ? 0 : static_cast<uint64_t>(lateness.count());
  inc(latenessSumUs_, us);
  if (us > get(latenessMaxUs_)) latenessMaxUs_.store(us, std::memory_order_relaxed);
}

void CheckerMetrics::probeFinished(registry::HealthStatus s) {
  inc(finished_[static_cast<size_t>(s)]);
}

void CheckerMetrics::setChecks(const std::array<uint64_t, kCheckKinds>& n) {
  for (size_t i = 0; i < kCheckKinds; ++i) checks_[i].store(n[i], std::memory_order_relaxed);
}

void CheckerMetrics::render(std::string& out) const {
  header(out, "cairn_health_checks", "gauge", "Checks run by this server's checker, by type.");
  for (size_t i = 0; i < kCheckKinds; ++i)
    sample(out, "cairn_health_checks", "type", kKindNames[i], std::to_string(get(checks_[i])));
  header(out, "cairn_health_probes_total", "counter", "Probes started, by check type.");
  for (size_t i = 0; i < kCheckKinds; ++i) {
    if (static_cast<CheckKind>(i) == CheckKind::kTtl) continue;  // TTL checks are not probed
    sample(out, "cairn_health_probes_total", "type", kKindNames[i],
           std::to_string(get(started_[i])));
  }
  header(out, "cairn_health_probe_results_total", "counter", "Probes finished, by result.");
  for (size_t i = 0; i < 3; ++i)
    sample(out, "cairn_health_probe_results_total", "status", kStatusNames[i],
           std::to_string(get(finished_[i])));
  header(out, "cairn_health_probes_skipped_total", "counter",
         "Runs not started because the check's previous probe was still in flight.");
  sample(out, "cairn_health_probes_skipped_total", nullptr, nullptr, std::to_string(get(skipped_)));
  header(out, "cairn_health_check_lateness_seconds", "histogram",
         "Time from a run's due time to its probe's start.");
  uint64_t cum = 0;
  for (size_t i = 0; i < kLatenessBoundsUs.size(); ++i) {
    cum += get(lateness_[i]);
    sample(out, "cairn_health_check_lateness_seconds_bucket", "le",
           seconds(kLatenessBoundsUs[i]).c_str(), std::to_string(cum));
  }
  cum += get(lateness_[kLatenessBoundsUs.size()]);
  sample(out, "cairn_health_check_lateness_seconds_bucket", "le", "+Inf", std::to_string(cum));
  sample(out, "cairn_health_check_lateness_seconds_sum", nullptr, nullptr,
         seconds(get(latenessSumUs_)));
  sample(out, "cairn_health_check_lateness_seconds_count", nullptr, nullptr, std::to_string(cum));
  header(out, "cairn_health_check_lateness_max_seconds", "gauge",
         "The largest lateness since the checker started.");
  sample(out, "cairn_health_check_lateness_max_seconds", nullptr, nullptr,
         seconds(get(latenessMaxUs_)));
}

}  // namespace cairn::health
