// Check-status rules, as Consul applies them (agent/checks/check.go,
// StatusHandler; agent/local/state.go, check_update_interval). Pure logic:
// no clock, no I/O; the caller passes the time in.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "registry/model.hpp"

namespace cairn::health {

using Clock = std::chrono::steady_clock;

// Consul's default check_update_interval.
inline constexpr std::chrono::milliseconds kDefaultCheckUpdateInterval = std::chrono::minutes(5);

// A check's flap thresholds. Zero means "on the first result". A zero
// failuresBeforeWarning takes failuresBeforeCritical's value, as Consul does.
struct Thresholds {
  int successBeforePassing = 0;
  int failuresBeforeWarning = 0;
  int failuresBeforeCritical = 0;

  static Thresholds of(const registry::CheckDefinition& d);
};

// What a check's results mean for the catalog.
//
// Thresholds (Consul's StatusHandler): passing and warning results count as
// successes and are reported once `successBeforePassing` of them came in a
// row; a critical result is reported as critical after
// `failuresBeforeCritical` failures in a row, and as warning after
// `failuresBeforeWarning`; fewer change nothing.
//
// Writes: a reported status is written only when it differs from the
// catalog's, or when only the output differs and the last write of this
// check is at least `updateInterval` old (Consul's check_update_interval),
// so that a body with a timestamp in it does not write on every probe. A
// deferred output is written by a later result once the interval has passed.
//
// Not thread-safe; one owner (the checker's thread).
class StatusMachine {
 public:
  struct Update {
    registry::HealthStatus status;
    std::string output;
    bool operator==(const Update&) const = default;
  };

  // `status`/`output` are what the catalog holds now; `lastWrite` is when
  // it was last written (a fresh machine may pass a time far in the past).
  StatusMachine(Thresholds t, registry::HealthStatus status, std::string output,
                Clock::time_point lastWrite,
                std::chrono::milliseconds updateInterval = kDefaultCheckUpdateInterval);

  // Feeds one probe result; returns the write to propose, if any. The
  // machine assumes the write will be applied (see catalogChanged).
  std::optional<Update> onResult(registry::HealthStatus status, std::string output,
                                 Clock::time_point now);

  // The catalog's copy changed by other means (a TTL report, a proposal
  // that failed, a re-registration): the next write compares against it.
  void catalogChanged(registry::HealthStatus status, std::string output);

  void setThresholds(Thresholds t) { t_ = t; }
  registry::HealthStatus status() const { return status_; }
  const std::string& output() const { return output_; }

 private:
  Thresholds t_;
  registry::HealthStatus status_;
  std::string output_;
  Clock::time_point lastWrite_;
  std::chrono::milliseconds updateInterval_;
  int successes_ = 0;
  int failures_ = 0;
};

}  // namespace cairn::health
