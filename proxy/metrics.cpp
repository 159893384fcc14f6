#include "proxy/metrics.hpp"

#include <sstream>

namespace cairn::proxy {

namespace {

std::string escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void listener(std::ostringstream& o, const std::string& labels, const ListenerCounters& c) {
  auto line = [&](const char* name, uint64_t v, const std::string& extra = "") {
    o << name << "{" << labels << extra << "} " << v << "\n";
  };
  line("cairn_proxy_connections_total", c.accepted);
  line("cairn_proxy_connections_active", c.active);
  line("cairn_proxy_connections_rejected_total", c.rejectedLimit, ",reason=\"limit\"");
  line("cairn_proxy_connections_rejected_total", c.rejectedNoInstance, ",reason=\"no_instance\"");
  line("cairn_proxy_connections_rejected_total", c.failed, ",reason=\"connect_failed\"");
  line("cairn_proxy_connect_failures_total", c.connectFailures);
  line("cairn_proxy_handshake_failures_total", c.handshakeFailures);
  line("cairn_proxy_handshakes_total", c.handshakesFull, ",kind=\"full\"");
  line("cairn_proxy_handshakes_total", c.handshakesResumed, ",kind=\"resumed\"");
  line("cairn_proxy_idle_timeouts_total", c.idleTimeouts);
  line("cairn_proxy_bytes_total", c.bytesUp, ",direction=\"up\"");
  line("cairn_proxy_bytes_total", c.bytesDown, ",direction=\"down\"");
  line("cairn_proxy_spliced_bytes_total", c.bytesSpliced);
}

}  // namespace

std::string renderMetrics(const ListenerCounters* inbound,
                          const std::vector<UpstreamSnapshot>& upstreams, bool draining) {
  std::ostringstream o;
  o << "# TYPE cairn_proxy_connections_total counter\n"
       "# TYPE cairn_proxy_connections_active gauge\n"
       "# TYPE cairn_proxy_connections_rejected_total counter\n"
       "# TYPE cairn_proxy_connect_failures_total counter\n"
       "# TYPE cairn_proxy_handshake_failures_total counter\n"
       "# TYPE cairn_proxy_handshakes_total counter\n"
       "# TYPE cairn_proxy_idle_timeouts_total counter\n"
       "# TYPE cairn_proxy_bytes_total counter\n"
       "# TYPE cairn_proxy_spliced_bytes_total counter\n"
       "# TYPE cairn_proxy_upstream_instances gauge\n"
       "# TYPE cairn_proxy_upstream_choices_total counter\n"
       "# TYPE cairn_proxy_upstream_ejections_total counter\n"
       "# TYPE cairn_proxy_upstream_ejected gauge\n"
       "# TYPE cairn_proxy_upstream_active gauge\n"
       "# TYPE cairn_proxy_draining gauge\n";
  o << "cairn_proxy_draining " << (draining ? 1 : 0) << "\n";
  if (inbound) listener(o, "listener=\"inbound\"", *inbound);
  for (const auto& u : upstreams) {
    std::string labels = "listener=\"upstream\",upstream=\"" + escape(u.name) + "\"";
    listener(o, labels, *u.counters);
    std::string ul = "upstream=\"" + escape(u.name) + "\"";
    o << "cairn_proxy_upstream_instances{" << ul << ",policy=\"" << u.policy << "\"} "
      << u.instances.size() << "\n";
    for (const auto& s : u.instances) {
      std::string il = ul + ",instance=\"" + escape(s.id) + "\"";
      o << "cairn_proxy_upstream_choices_total{" << il << "} " << s.picks << "\n";
      o << "cairn_proxy_upstream_ejections_total{" << il << "} " << s.ejections << "\n";
      o << "cairn_proxy_upstream_ejected{" << il << "} " << (s.ejected ? 1 : 0) << "\n";
      o << "cairn_proxy_upstream_active{" << il << "} " << s.active << "\n";
    }
  }
  return o.str();
}

}  // namespace cairn::proxy
