#include "health/metrics.hpp"

#include <gtest/gtest.h>

namespace cairn::health {
namespace {

using std::chrono::microseconds;

// The value of one sample line ("name{labels} value") in rendered text.
std::string valueOf(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return "<missing>";
  size_t start = at + series.size() + 2;
  return text.substr(start, text.find('\n', start) - start);
}

TEST(CheckerMetricsTest, LatenessBucketIsTheFirstBoundAtOrAbove) {
  EXPECT_EQ(latenessBucket(microseconds(-5)), 0u);
  EXPECT_EQ(latenessBucket(microseconds(0)), 0u);
  EXPECT_EQ(latenessBucket(microseconds(100)), 0u);
  EXPECT_EQ(latenessBucket(microseconds(101)), 1u);
  EXPECT_EQ(kLatenessBoundsUs[latenessBucket(microseconds(99'000))], 100'000u);
  EXPECT_EQ(kLatenessBoundsUs[latenessBucket(microseconds(100'000))], 100'000u);
  EXPECT_EQ(latenessBucket(microseconds(31'000'000)), kLatenessBoundsUs.size());  // +Inf
}

TEST(CheckerMetricsTest, RendersCountsGaugesAndACumulativeHistogram) {
  CheckerMetrics m;
  m.setChecks({3, 2, 1, 0});
  m.probeStarted(CheckKind::kHttp, microseconds(50));
  m.probeStarted(CheckKind::kHttp, microseconds(2'500));
  m.probeStarted(CheckKind::kTcp, microseconds(250'000));
  m.probeSkipped();
  m.probeFinished(registry::HealthStatus::kPassing);
  m.probeFinished(registry::HealthStatus::kCritical);
  std::string out = "\n";
  m.render(out);
  EXPECT_EQ(valueOf(out, "cairn_health_checks{type=\"http\"}"), "3");
  EXPECT_EQ(valueOf(out, "cairn_health_checks{type=\"ttl\"}"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_probes_total{type=\"http\"}"), "2");
  EXPECT_EQ(valueOf(out, "cairn_health_probes_total{type=\"tcp\"}"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_probes_total{type=\"ttl\"}"), "<missing>");
  EXPECT_EQ(valueOf(out, "cairn_health_probe_results_total{status=\"passing\"}"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_probe_results_total{status=\"critical\"}"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_probes_skipped_total"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_bucket{le=\"0.0001\"}"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_bucket{le=\"0.002\"}"), "1");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_bucket{le=\"0.003\"}"), "2");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_bucket{le=\"0.2\"}"), "2");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_bucket{le=\"0.3\"}"), "3");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_bucket{le=\"+Inf\"}"), "3");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_count"), "3");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_seconds_sum"), "0.25255");
  EXPECT_EQ(valueOf(out, "cairn_health_check_lateness_max_seconds"), "0.25");
}

}  // namespace
}  // namespace cairn::health
