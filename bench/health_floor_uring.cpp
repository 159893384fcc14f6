// health_floor_uring: health_floor's probes made through io_uring instead of
// epoll — what a prober that batches its system calls costs on this machine.
//
//   health_floor_uring -kind http|tcp -targets p1,p2,... [-rate 1000] [-seconds 20]
//                      [-addr 127.0.0.1] [-tick-ms 10] [-close fin|reset]
//
// Same probes as health_floor (a new connection per probe, the same request
// bytes, read to the end of the answer, normal close), but one thread wakes
// every -tick-ms only: it starts the probes then due as linked chains
// (socket -> connect -> send -> recv on a registered descriptor), reaps what
// completed, and closes finished sockets, all in one io_uring_enter per tick.
// The ring is SINGLE_ISSUER | DEFER_TASKRUN: completions are not pushed to the
// thread while it sleeps, they are run at its next enter. -close reset links
// an SO_LINGER {1, 0} socket command (Linux 6.7) before each close of a
// connection that was made, as the agent's reset close through the ring.
// As the agent's ring, it turns TCP_QUICKACK off before the connect (the
// handshake's last ACK rides on the request, or on the FIN of a TCP probe
// closed with a FIN) and on again after the request.
// Prints the same line as health_floor.
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <vector>

#include "health/uring_setsockopt.hpp"
#include "health_floor_common.hpp"

namespace {

constexpr unsigned kSlots = 8192;

enum Stage : uint64_t { kSocket, kConnect, kSend, kRecv, kClose, kLinger, kQuickAck };
using cairn::health::kQuickAckOff;
using cairn::health::kQuickAckOn;
using cairn::health::prepLingerReset;
using cairn::health::prepQuickAck;

struct Probe {
  bool used = false;
  bool failed = false;
  size_t check = 0;
  size_t len = 0;
  int reqLen = 0;
  char req[256];
  char buf[1024];
};

uint64_t tag(unsigned slot, Stage s) {
  return (static_cast<uint64_t>(slot) << 3) | s;
}

}  // namespace

int main(int argc, char** argv) {
  const floor_common::Args args = floor_common::parse(argc, argv, "health_floor_uring", true);
  const std::vector<uint16_t>& ports = args.ports;
  const long rate = args.rate, seconds = args.seconds, tickMs = args.tickMs;
  const bool reset = args.reset, http = args.http();

  io_uring ring{};
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = 4 * kSlots;
  if (int rc = io_uring_queue_init_params(kSlots, &ring, &params); rc < 0) {
    std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-rc));
    return 1;
  }
  if (int rc = io_uring_register_files_sparse(&ring, kSlots); rc < 0) {
    std::fprintf(stderr, "register_files_sparse: %s\n", std::strerror(-rc));
    return 1;
  }
  std::vector<Probe> probes(kSlots);
  std::vector<unsigned> freeSlots;
  for (unsigned s = kSlots; s > 0; --s) freeSlots.push_back(s - 1);
  uint64_t started = 0, ok = 0, failed = 0;
  long total = rate * seconds;

  auto sqe = [&] {
    io_uring_sqe* e = io_uring_get_sqe(&ring);
    if (!e) {
      io_uring_submit(&ring);
      e = io_uring_get_sqe(&ring);
    }
    return e;
  };
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_addr = args.addr;
  std::vector<sockaddr_in> targets(ports.size(), target);
  for (size_t i = 0; i < ports.size(); ++i) targets[i].sin_port = htons(ports[i]);

  auto startProbe = [&] {
    if (freeSlots.empty()) {
      ++failed;
      return;
    }
    unsigned slot = freeSlots.back();
    freeSlots.pop_back();
    Probe& p = probes[slot];
    p = Probe{};
    p.used = true;
    p.check = started;
    size_t port = started % ports.size();
    io_uring_sqe* e = sqe();
    io_uring_prep_socket_direct(e, AF_INET, SOCK_STREAM, 0, slot, 0);  // no CLOEXEC: direct
    e->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    e->user_data = tag(slot, kSocket);
    const bool delayAck = http || !reset;
    if (delayAck) {
      e = sqe();
      prepQuickAck(e, slot, &kQuickAckOff);
      e->user_data = tag(slot, kQuickAck);
    }
    e = sqe();
    io_uring_prep_connect(e, static_cast<int>(slot),
                          reinterpret_cast<const sockaddr*>(&targets[port]), sizeof(sockaddr_in));
    e->flags |= IOSQE_FIXED_FILE | (http ? IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS : 0);
    e->user_data = tag(slot, kConnect);
    if (!http) return;
    p.reqLen = floor_common::request(p.req, sizeof p.req, p.check, args, ports[port]);
    e = sqe();
    io_uring_prep_send(e, static_cast<int>(slot), p.req, static_cast<size_t>(p.reqLen), 0);
    e->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    e->user_data = tag(slot, kSend);
    e = sqe();
    prepQuickAck(e, slot, &kQuickAckOn);
    e->user_data = tag(slot, kQuickAck);
    e = sqe();
    io_uring_prep_recv(e, static_cast<int>(slot), p.buf, sizeof p.buf, 0);
    e->flags |= IOSQE_FIXED_FILE;
    e->user_data = tag(slot, kRecv);
  };
  auto closeProbe = [&](unsigned slot, bool good) {
    probes[slot].failed = !good;
    if (reset && good) {
      io_uring_sqe* e = sqe();
      prepLingerReset(e, slot);
      e->user_data = tag(slot, kLinger);
    }
    io_uring_sqe* e = sqe();
    io_uring_prep_close_direct(e, slot);
    e->user_data = tag(slot, kClose);
  };

  rusage r0{};
  getrusage(RUSAGE_SELF, &r0);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::seconds(seconds + 10);
  __kernel_timespec tick{};
  tick.tv_sec = tickMs / 1000;
  tick.tv_nsec = (tickMs % 1000) * 1'000'000L;
  while (static_cast<long>(ok + failed) < total) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    // Start every probe due by now.
    auto due = static_cast<long>(std::chrono::duration<double>(now - t0).count() * rate);
    while (static_cast<long>(started) < std::min(due, total)) {
      startProbe();
      ++started;
    }
    io_uring_cqe* cqe = nullptr;
    // Sleep a tick whatever completes meanwhile; completions run at this enter.
    io_uring_submit_and_wait_timeout(&ring, &cqe, kSlots * 4, &tick, nullptr);
    unsigned head = 0, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      auto slot = static_cast<unsigned>(cqe->user_data >> 3);
      auto stage = static_cast<Stage>(cqe->user_data & 7);
      int res = cqe->res;
      Probe& p = probes[slot];
      switch (stage) {
        case kQuickAck:
          if (res < 0 && res != -ECANCELED) {
            std::fprintf(stderr, "health_floor_uring: TCP_QUICKACK through io_uring: %s\n",
                         std::strerror(-res));
            return 1;
          }
          break;
        case kLinger:
          if (res < 0) {
            std::fprintf(stderr, "health_floor_uring: SO_LINGER through io_uring: %s\n",
                         std::strerror(-res));
            return 1;
          }
          break;
        case kSocket:
        case kSend:
          // Only failures are reported (CQE_SKIP_SUCCESS); the rest of the chain is cancelled.
          if (res < 0) p.failed = true;
          break;
        case kConnect:
          if (!http) {
            closeProbe(slot, res == 0);
          } else if (res < 0) {
            p.failed = true;
          }
          break;
        case kRecv:
          if (res > 0) {
            p.len += static_cast<size_t>(res);
            if (!floor_common::complete(std::string_view(p.buf, p.len)) && p.len < sizeof p.buf) {
              io_uring_sqe* e = sqe();
              io_uring_prep_recv(e, static_cast<int>(slot), p.buf + p.len, sizeof p.buf - p.len, 0);
              e->flags |= IOSQE_FIXED_FILE;
              e->user_data = tag(slot, kRecv);
              break;
            }
          }
          closeProbe(slot, !p.failed && p.len > 0);
          break;
        case kClose:
          ++(p.failed ? failed : ok);
          p.used = false;
          freeSlots.push_back(slot);
          break;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage r1{};
  getrusage(RUSAGE_SELF, &r1);
  floor_common::printResult(started, ok, failed, secs, r0, r1);
  io_uring_queue_exit(&ring);
  return failed ? 1 : 0;
}
