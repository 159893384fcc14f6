// libFuzzer target over the query parser and the answer builder: every
// input is answered over UDP and TCP against a small fixed catalog, and the
// answer must stay within its size limit and echo the query's ID.
// Built only in its own tree: see dns/fuzz/README.md.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dns/config.hpp"
#include "dns/query.hpp"
#include "dns/responder.hpp"
#include "dns/test_util.hpp"

namespace {

using namespace cairn;
using namespace cairn::dns;

struct World {
  testing::TestCatalog cat;
  LoadTable loads;
  AnswerConfig cfg;
  std::unique_ptr<Zone> zone;
  std::unique_ptr<Responder> weighted, leastLoaded;
  ThreadCounters counters;

  World() {
    cat.instance("server1", "10.0.0.9", "cairn", "cairn", 8300);
    for (int i = 0; i < 40; ++i) {
      std::string n = std::to_string(i), n1 = std::to_string(i + 1);
      std::string v6 = i % 5 == 0 ? std::string("2001:db8::").append(n1) : std::string();
      cat.instance(std::string("n").append(n), std::string("10.1.0.").append(n1), "web",
                   std::string("web-").append(n), 8000 + i,
                   {std::string("v").append(std::to_string(i % 3)), "Tag"}, {i % 4, 1}, v6);
    }
    cat.instance("host", "not-an-ip", "MixedCase", "mc", 1, {}, {}, "svc.example.");
    // Nodes with meta (TXT in SRV answers, some too big for 512 bytes), one
    // of them with a host name for an address.
    for (int i = 0; i < 12; ++i) {
      registry::RegisterCommand rc;
      rc.node.name = "m" + std::to_string(i);
      rc.node.address = i == 11 ? "m11.example.org" : "10.2.0." + std::to_string(i + 1);
      rc.node.meta = {{"rack", std::to_string(i)}, {"a=b `c", std::string(i * 20, 'x')}};
      registry::Service svc;
      svc.name = "meta";
      svc.id = "meta-" + std::to_string(i);
      svc.port = 100 + i;
      svc.address = i % 4 == 3 ? "10.3.0." + std::to_string(i) : "";
      rc.service = svc;
      cat.apply(rc);
    }
    cat.check("n1", "web-1", registry::HealthStatus::kCritical);
    cat.check("n2", "web-2", registry::HealthStatus::kWarning);
    (void)loads.report("n3", "web-3", 0.5);
    DnsOptions o;
    o.nodeName = "server1";
    o.recursors = {"127.0.0.1:1"};
    o.aRecordLimit = 30;
    cfg = std::move(AnswerConfig::from(o).value());
    zone = std::make_unique<Zone>(std::move(Zone::create(o.zone).value()));
    weighted = std::make_unique<Responder>(cfg, *zone, cat.hub(), &loads, 1, &counters);
    AnswerConfig* ll = new AnswerConfig(cfg);  // lives for the process
    ll->order = Order::kLeastLoaded;
    leastLoaded = std::make_unique<Responder>(*ll, *zone, cat.hub(), &loads, 2);
  }
};

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* w = new World();
  static std::vector<uint8_t> out(kMaxMessage);
  std::span<const uint8_t> in(data, size);
  Query q;
  ParseStatus st = parseQuery(in, q);
  for (bool tcp : {false, true}) {
    Responder& r = (size && (data[size - 1] & 1)) ? *w->leastLoaded : *w->weighted;
    auto res = r.respond(in, tcp, out);
    if (res.action != Responder::Action::kReply) continue;
    check(res.len >= kHeaderSize, "answer shorter than a header");
    check(res.len <= (tcp ? kMaxMessage : w->cfg.maxUdpSize), "answer over the limit");
    if (!tcp && st == ParseStatus::kOk && !q.edns) check(res.len <= kMaxUdpPlain, "over 512");
    check(get16(out.data()) == get16(data), "ID not echoed");
    check(out[2] & 0x80, "QR not set");
    // Error answers are never bigger than needed.
    uint8_t rc = out[3] & 0xF;
    if (rc == rcode::kFormErr || rc == rcode::kNotImp) check(res.len <= size + 11, "big error");
  }
  uint8_t small[kMaxUdpPlain];
  (void)writeErrorAnswer(w->cfg, in, rcode::kServFail, small);
  return 0;
}
