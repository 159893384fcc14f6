// DnsMetrics: the DNS server's counters, declared in one place and rendered
// as Prometheus text on the agent's /metrics page.
//
// Counting must cost next to nothing on the query path. Each answering
// thread (a UDP worker, the TCP thread) owns one ThreadCounters block and is
// its only writer, so an increment is a relaxed load and store on a cache
// line no other thread writes: no lock, no atomic read-modify-write, no
// allocation. A scrape sums the blocks on its own thread; a sum may miss
// increments still in flight, but never reads a torn value.
#pragma once

#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace cairn::dns {

// A counter with one writing thread; any thread may read it.
class Counter {
 public:
  void inc() { v_.store(v_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Query types counted by name (qtypeSlot); every other type is "other".
inline constexpr uint16_t kCountedQtypes[] = {1, 2, 5, 6, 12, 15, 16, 28, 33, 255};
inline constexpr size_t kQtypeSlots = std::size(kCountedQtypes) + 1;
size_t qtypeSlot(uint16_t qtype);

// Response codes counted by name (rcodeSlot): NOERROR..REFUSED, BADVERS, other.
inline constexpr size_t kRcodeSlots = 8;
size_t rcodeSlot(uint16_t rcode);

// The counters of one answering thread. Only that thread calls inc().
struct alignas(64) ThreadCounters {
  Counter queries[2];           // packets received: [0] UDP, [1] TCP
  Counter qtypes[kQtypeSlots];  // queries whose question parsed, by type
  Counter rcodes[kRcodeSlots];  // answers built here and sent, by rcode
  Counter truncated;            // of those, answers sent with TC set
  Counter forwarded;            // queries handed to the recursors
  Counter dropped;              // packets given no answer at all
  Counter malformed;            // packets that are not a well-formed query
  Counter rateLimited[2];       // UDP queries over the rate limit: [0] dropped, [1] truncated
  Counter recursionRefused;     // outside names from clients not allowed to recurse
  Counter tcpRefused;           // TCP connections closed at once (a connection limit)
};

class DnsMetrics {
 public:
  // A new block for one answering thread, counted until this object dies
  // (a server that stops keeps its counts: counters never go down). Takes a
  // lock: call it when the thread starts, never per query.
  ThreadCounters& addThread();

  // A forwarded query got no usable answer (every recursor failed or timed
  // out, or a UDP answer was too large) and the client got SERVFAIL.
  // Called from the forwarder's thread: an atomic add, off the fast path.
  void forwardFailed() { forwardFailures_.fetch_add(1, std::memory_order_relaxed); }

  // Sums over every thread.
  struct Totals {
    uint64_t queries[2] = {0, 0};
    uint64_t qtypes[kQtypeSlots] = {};
    uint64_t rcodes[kRcodeSlots] = {};
    uint64_t truncated = 0, forwarded = 0, forwardFailures = 0, dropped = 0, malformed = 0;
    uint64_t rateLimited[2] = {0, 0};
    uint64_t recursionRefused = 0, tcpRefused = 0;
  };
  Totals totals() const;

  // Appends the counters in Prometheus text format (cairn_dns_*). Thread-safe.
  void render(std::string& out) const;

 private:
  mutable std::mutex mu_;  // guards threads_ (the vector, not the counters)
  std::vector<std::unique_ptr<ThreadCounters>> threads_;
  std::atomic<uint64_t> forwardFailures_{0};
};

}  // namespace cairn::dns
