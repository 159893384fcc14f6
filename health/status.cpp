#include "health/status.hpp"

#include <utility>

namespace cairn::health {

using registry::HealthStatus;

Thresholds Thresholds::of(const registry::CheckDefinition& d) {
  Thresholds t{d.successBeforePassing, d.failuresBeforeWarning, d.failuresBeforeCritical};
  if (t.failuresBeforeWarning == 0) t.failuresBeforeWarning = t.failuresBeforeCritical;
  return t;
}

StatusMachine::StatusMachine(Thresholds t, HealthStatus status, std::string output,
                             Clock::time_point lastWrite, std::chrono::milliseconds updateInterval)
    : t_(t),
      status_(status),
      output_(std::move(output)),
      lastWrite_(lastWrite),
      updateInterval_(updateInterval) {}

std::optional<StatusMachine::Update> StatusMachine::onResult(HealthStatus status,
                                                             std::string output,
                                                             Clock::time_point now) {
  HealthStatus report;
  if (status != HealthStatus::kCritical) {
    ++successes_;
    failures_ = 0;
    if (successes_ < t_.successBeforePassing) return std::nullopt;
    report = status;
  } else {
    ++failures_;
    successes_ = 0;
    if (failures_ >= t_.failuresBeforeCritical)
      report = HealthStatus::kCritical;
    else if (failures_ >= t_.failuresBeforeWarning)
      report = HealthStatus::kWarning;
    else
      return std::nullopt;
  }
  if (report == status_) {
    if (output == output_) return std::nullopt;
    if (now - lastWrite_ < updateInterval_) return std::nullopt;
  }
  status_ = report;
  output_ = std::move(output);
  lastWrite_ = now;
  return Update{status_, output_};
}

void StatusMachine::catalogChanged(HealthStatus status, std::string output) {
  status_ = status;
  output_ = std::move(output);
}

}  // namespace cairn::health
