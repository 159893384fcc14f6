// Responder: turns one query packet into one answer packet, from the
// current catalog view. Pure logic, no sockets: the UDP and TCP servers
// (and the tests and the fuzzer) call it with bytes.
//
// Threading: one Responder per thread. It keeps per-thread caches of
// precomputed service records (rebuilt when the catalog publishes a new
// group for the service), so answering a service query does not allocate
// once its records are cached.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/config.hpp"
#include "dns/load_table.hpp"
#include "dns/metrics.hpp"
#include "dns/names.hpp"
#include "dns/order.hpp"
#include "dns/query.hpp"
#include "dns/records.hpp"
#include "registry/watch.hpp"

namespace cairn::dns {

// An answer with only the header, the question (when it parses) and
// `rcode` (BADVERS instead when the query's EDNS version is unknown), e.g.
// SERVFAIL when forwarding failed. Returns 0 when the query is not worth an
// answer or out holds under 512 bytes. Thread-safe.
size_t writeErrorAnswer(const AnswerConfig& cfg, std::span<const uint8_t> query, uint8_t rcode,
                        std::span<uint8_t> out);

// The most bytes a UDP answer to `query` may have: the client's EDNS size
// clamped to [512, cfg.maxUdpSize], or 512 without EDNS.
size_t udpAnswerLimit(const AnswerConfig& cfg, std::span<const uint8_t> query);

class Responder {
 public:
  enum class Action : uint8_t {
    kDrop,     // send nothing
    kReply,    // send out[0, len)
    kForward,  // outside our domains and recursion is on: forward the query as is
  };
  struct Outcome {
    Action action = Action::kDrop;
    size_t len = 0;
    uint16_t rcode = 0;  // of a reply (extended: BADVERS is 16)
    bool truncated = false;
  };

  // cfg, zone, hub, loads (may be null) and counters (may be null: not
  // counted) must outlive the Responder. The Responder's thread must be the
  // only writer of `counters`.
  Responder(const AnswerConfig& cfg, const Zone& zone, const registry::WatchHub& hub,
            LoadTable* loads, uint64_t seed, ThreadCounters* counters = nullptr);

  // The counters this Responder adds to (null: none), for its thread's
  // server to count what never reaches respond() (an oversized datagram).
  ThreadCounters* counters() const { return counters_; }

  // Answers `query` into `out`. UDP answers are at most the client's EDNS
  // size (clamped to [512, maxUdpSize]) or 512 without EDNS, and set TC
  // when records were left out; TCP answers go up to 65535 bytes. `out`
  // must hold at least 512 bytes; its size also bounds the answer.
  Outcome respond(std::span<const uint8_t> query, bool tcp, std::span<uint8_t> out);
  // The same against a view the caller already holds (the UDP workers take
  // one view per received batch instead of one per query). Non-null.
  Outcome respond(const registry::ViewPtr& view, std::span<const uint8_t> query, bool tcp,
                  std::span<uint8_t> out);

 private:
  struct Packet;  // one answer being written (responder.cpp)

  Outcome answer(const registry::ViewPtr& view, Query& q, std::span<const uint8_t> query, bool tcp,
                 std::span<uint8_t> out);
  void count(const Query& q, const Outcome& o, bool tcp);

  // Finds the service case-insensitively and returns its cached records,
  // rebuilding them when the view has a new group for it. Null when absent.
  CachedService* service(const registry::View& v, std::string_view lowerName);
  const registry::NodeEntry* node(const registry::View& v, std::string_view lowerName);
  const std::vector<std::string>* reverseNames(const registry::View& v, const uint8_t* addr,
                                               size_t len);

  void answerService(Packet& p, const registry::View& v);
  void answerNode(Packet& p, const registry::View& v);
  void answerAddr(Packet& p, const registry::View& v);
  void answerApex(Packet& p, const registry::View& v);
  // False when the address is unknown (the caller forwards or NXDOMAINs).
  bool answerReverse(Packet& p, const registry::View& v);
  void writeServiceAddrs(Packet& p, const CachedService& s, size_t n);
  void writeServiceSrv(Packet& p, const CachedService& s, size_t n);
  void writeNodeTxt(Packet& p, const CachedService& s, const InstanceRecord& r, size_t srvAt,
                    size_t reserve);
  // NOERROR/NXDOMAIN with the SOA in the authority section.
  void negative(Packet& p, const registry::View& v, uint8_t rc);
  bool writeSoa(Packet& p, const registry::View& v);
  bool writeNs(Packet& p, const registry::View& v, bool glue);

  const AnswerConfig& cfg_;
  const Zone& zone_;
  const registry::WatchHub& hub_;
  LoadTable* loads_;
  ThreadCounters* counters_;
  Rng rng_;
  std::string nsHead_;  // "<node>.node.<dc>" in wire form, no root; empty if not a DNS name

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Eq = std::equal_to<>;
  std::unordered_map<std::string, std::unique_ptr<CachedService>, Hash, Eq> cache_;
  // Lower-cased name -> catalog name, for names that are not all lower case.
  std::unordered_map<std::string, std::string, Hash, Eq> foldedServices_, foldedNodes_;
  uint64_t foldedServicesAt_ = UINT64_MAX, foldedNodesAt_ = UINT64_MAX;
  // Address bytes -> PTR target names (wire form), for the view reverseAt_.
  std::unordered_map<std::string, std::vector<std::string>, Hash, Eq> reverse_;
  registry::ViewPtr reverseAt_;
  registry::ViewPtr current_;  // the view of the query being answered
  // Per-query scratch, reused.
  std::vector<OrderItem> items_;
  std::vector<uint32_t> seen_;
  uint32_t seenGen_ = 0;
};

}  // namespace cairn::dns
