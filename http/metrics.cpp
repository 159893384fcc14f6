#include "http/metrics.hpp"

#include <sstream>

namespace cairn::http {

void Metrics::observe(std::string_view route, int status, std::chrono::microseconds latency) {
  double secs = static_cast<double>(latency.count()) / 1e6;
  std::lock_guard lock(mu_);
  auto it = requests_.find(route);
  if (it == requests_.end())
    it = requests_.emplace(std::string(route), std::map<int, uint64_t>{}).first;
  ++it->second[status];
  size_t b = 0;
  while (b < kBuckets.size() && secs > kBuckets[b]) ++b;
  ++latency_[b];
  latencySum_ += secs;
  ++latencyCount_;
}

std::string Metrics::render(const registry::View& v, const registry::WatchHub& hub) const {
  std::ostringstream o;
  o << "# HELP cairn_http_requests_total HTTP requests by route and status code.\n"
       "# TYPE cairn_http_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [route, byCode] : requests_)
    for (const auto& [code, n] : byCode)
      o << "cairn_http_requests_total{route=\"" << route << "\",code=\"" << code << "\"} " << n
        << "\n";
  o << "# HELP cairn_http_request_duration_seconds Time from request read to response queued.\n"
       "# TYPE cairn_http_request_duration_seconds histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cum += latency_[i];
    o << "cairn_http_request_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << cum << "\n";
  }
  cum += latency_[kBuckets.size()];
  o << "cairn_http_request_duration_seconds_bucket{le=\"+Inf\"} " << cum << "\n"
    << "cairn_http_request_duration_seconds_sum " << latencySum_ << "\n"
    << "cairn_http_request_duration_seconds_count " << latencyCount_ << "\n";
  o << "# HELP cairn_catalog_nodes Nodes in the catalog.\n# TYPE cairn_catalog_nodes gauge\n"
    << "cairn_catalog_nodes " << v.nodes.size() << "\n"
    << "# HELP cairn_catalog_services Distinct service names.\n# TYPE cairn_catalog_services "
       "gauge\n"
    << "cairn_catalog_services " << v.services.size() << "\n"
    << "# HELP cairn_catalog_service_instances Service instances.\n"
       "# TYPE cairn_catalog_service_instances gauge\n"
    << "cairn_catalog_service_instances " << v.nodeServices.size() << "\n"
    << "# HELP cairn_catalog_checks Checks.\n# TYPE cairn_catalog_checks gauge\n"
    << "cairn_catalog_checks " << v.checks.size() << "\n"
    << "# HELP cairn_catalog_applied_index Last applied log index.\n"
       "# TYPE cairn_catalog_applied_index gauge\n"
    << "cairn_catalog_applied_index " << v.index << "\n"
    << "# HELP cairn_watch_woken_total Blocking queries woken by a change they cover.\n"
       "# TYPE cairn_watch_woken_total counter\n"
    << "cairn_watch_woken_total " << hub.wokenTotal() << "\n"
    << "# HELP cairn_watch_waiting Blocking queries waiting now.\n"
       "# TYPE cairn_watch_waiting gauge\n"
    << "cairn_watch_waiting " << hub.waiting() << "\n";
  return o.str();
}

}  // namespace cairn::http
