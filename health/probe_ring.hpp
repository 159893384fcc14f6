// ProbeRing: plain HTTP and TCP probes through io_uring, for a prober that
// makes a thousand connections a second on one thread.
//
// Each probe is a linked chain on a registered ("direct") descriptor:
// socket -> connect [-> send the request -> receive], then more receives
// while the caller wants them, then close. The ring is single-issuer with
// deferred task running: completions are not pushed to the thread while it
// sleeps; they are run, and new chains submitted, at poll(), which the
// owner calls about every 10 ms while probes are in flight. So a thousand
// probes a second cost about a hundred system calls and wake-ups a second,
// where an epoll loop makes some nine system calls and two or three
// wake-ups per probe.
//
// Not thread-safe: create, start and poll on one thread only (the kernel
// ties the ring to the thread that first submits on it).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct sockaddr;

namespace cairn::health {

// One probe on the ring, as its owner sees it. The ring keeps it (and so
// its buffers and the bytes it sends) alive until the kernel is done with
// the connection, which may be after end().
class RingProbe {
 public:
  virtual ~RingProbe() = default;
  // Where the next receive goes (non-empty).
  virtual std::span<char> buffer() = 0;
  // `n` > 0 bytes arrived at the start of buffer(). True: receive more.
  virtual bool received(size_t n) = 0;
  // Called once. err 0: finished (the connection was made, and for a probe
  // that sends, received() returned false); else the errno that ended it,
  // or ETIMEDOUT when the deadline passed first. eof: the peer closed
  // before received() returned false (err 0 then).
  virtual void end(int err, bool eof) = 0;
};

struct RingStart {
  const sockaddr* address = nullptr;  // copied
  unsigned addressLength = 0;
  std::string_view send;  // empty: connect only (a TCP check); must outlive the probe
  bool reset = false;     // end a connection made with an RST (SO_LINGER 0), not a FIN
  std::chrono::steady_clock::time_point deadline;
};

class ProbeRing {
 public:
  virtual ~ProbeRing() = default;

  // Nullptr, with the reason in *why, when this kernel (or a seccomp
  // filter) does not offer what the ring needs; the caller then probes
  // through its own sockets.
  static std::unique_ptr<ProbeRing> create(unsigned slots, std::string* why);

  // Queues a probe (submitted at the next poll). False when every slot is
  // taken: the caller probes another way.
  virtual bool start(const RingStart& s, std::shared_ptr<RingProbe> probe) = 0;
  // Submits what is queued, runs what completed (calling received/end),
  // ends the probes past their deadline. Never blocks. `enter`: enter the
  // kernel at least once (to run completion work it may not have flagged);
  // else only if something is queued or flagged.
  virtual void poll(bool enter) = 0;
  // Probes started and not yet ended.
  virtual size_t active() const = 0;
  // False once the kernel has refused the socket command a reset close
  // needs (Linux before 6.7); such probes then close with a FIN, and the
  // owner should make its reset probes another way.
  virtual bool resetWorks() const = 0;
  // Nothing left to submit or complete: no probe, no close in flight.
  // Until then the owner keeps polling.
  virtual bool idle() const = 0;
};

}  // namespace cairn::health
