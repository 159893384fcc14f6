#include "dns/metrics.hpp"

namespace cairn::dns {
namespace {

constexpr const char* kQtypeNames[kQtypeSlots] = {"A",   "NS",   "CNAME", "SOA", "PTR",  "MX",
                                                  "TXT", "AAAA", "SRV",   "ANY", "other"};
constexpr const char* kRcodeNames[kRcodeSlots] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                  "NOTIMP",  "REFUSED", "BADVERS",  "other"};

void counter(std::string& out, const char* name, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " counter\n";
}

void sample(std::string& out, const char* name, const char* label, const char* value, uint64_t n) {
  out += name;
  if (label) {
    out += '{';
    out += label;
    out += "=\"";
    out += value;
    out += "\"}";
  }
  out += ' ';
  out += std::to_string(n);
  out += '\n';
}

}  // namespace

size_t qtypeSlot(uint16_t qtype) {
  for (size_t i = 0; i < std::size(kCountedQtypes); ++i)
    if (kCountedQtypes[i] == qtype) return i;
  return kQtypeSlots - 1;
}

size_t rcodeSlot(uint16_t rcode) {
  if (rcode <= 5) return rcode;
  return rcode == 16 ? 6 : 7;
}

ThreadCounters& DnsMetrics::addThread() {
  std::lock_guard lock(mu_);
  threads_.push_back(std::make_unique<ThreadCounters>());
  return *threads_.back();
}

DnsMetrics::Totals DnsMetrics::totals() const {
  Totals t;
  std::lock_guard lock(mu_);
  for (const auto& c : threads_) {
    for (size_t i = 0; i < 2; ++i) t.queries[i] += c->queries[i].get();
    for (size_t i = 0; i < kQtypeSlots; ++i) t.qtypes[i] += c->qtypes[i].get();
    for (size_t i = 0; i < kRcodeSlots; ++i) t.rcodes[i] += c->rcodes[i].get();
    t.truncated += c->truncated.get();
    t.forwarded += c->forwarded.get();
    t.dropped += c->dropped.get();
    t.malformed += c->malformed.get();
    for (size_t i = 0; i < 2; ++i) t.rateLimited[i] += c->rateLimited[i].get();
    t.recursionRefused += c->recursionRefused.get();
    t.tcpRefused += c->tcpRefused.get();
  }
  t.forwardFailures = forwardFailures_.load(std::memory_order_relaxed);
  return t;
}

void DnsMetrics::render(std::string& out) const {
  Totals t = totals();
  counter(out, "cairn_dns_queries_total", "DNS packets received, by transport.");
  sample(out, "cairn_dns_queries_total", "transport", "udp", t.queries[0]);
  sample(out, "cairn_dns_queries_total", "transport", "tcp", t.queries[1]);
  counter(out, "cairn_dns_query_types_total", "DNS queries whose question parsed, by type.");
  for (size_t i = 0; i < kQtypeSlots; ++i)
    sample(out, "cairn_dns_query_types_total", "qtype", kQtypeNames[i], t.qtypes[i]);
  counter(out, "cairn_dns_responses_total",
          "DNS answers built by this server, by rcode (not those relayed from recursors).");
  for (size_t i = 0; i < kRcodeSlots; ++i)
    sample(out, "cairn_dns_responses_total", "rcode", kRcodeNames[i], t.rcodes[i]);
  counter(out, "cairn_dns_truncated_total", "DNS answers sent with TC set (UDP, too large).");
  sample(out, "cairn_dns_truncated_total", nullptr, nullptr, t.truncated);
  counter(out, "cairn_dns_forwarded_total", "DNS queries forwarded to the recursors.");
  sample(out, "cairn_dns_forwarded_total", nullptr, nullptr, t.forwarded);
  counter(out, "cairn_dns_forward_failures_total",
          "Forwarded DNS queries answered SERVFAIL: recursors failed, timed out or overflowed.");
  sample(out, "cairn_dns_forward_failures_total", nullptr, nullptr, t.forwardFailures);
  counter(out, "cairn_dns_dropped_total",
          "DNS packets given no answer: too short, a response, or an oversized datagram.");
  sample(out, "cairn_dns_dropped_total", nullptr, nullptr, t.dropped);
  counter(out, "cairn_dns_malformed_total",
          "DNS packets that are not a well-formed query (answered FORMERR, or dropped).");
  sample(out, "cairn_dns_malformed_total", nullptr, nullptr, t.malformed);
  counter(out, "cairn_dns_rate_limited_total",
          "UDP queries over the per-prefix rate limit, by what was sent: nothing or a truncated "
          "answer.");
  sample(out, "cairn_dns_rate_limited_total", "action", "dropped", t.rateLimited[0]);
  sample(out, "cairn_dns_rate_limited_total", "action", "truncated", t.rateLimited[1]);
  counter(out, "cairn_dns_recursion_refused_total",
          "Queries for outside names refused: the client may not use the recursors.");
  sample(out, "cairn_dns_recursion_refused_total", nullptr, nullptr, t.recursionRefused);
  counter(out, "cairn_dns_tcp_refused_total",
          "TCP connections closed at once: over the server's or the client's connection limit.");
  sample(out, "cairn_dns_tcp_refused_total", nullptr, nullptr, t.tcpRefused);
}

}  // namespace cairn::dns
