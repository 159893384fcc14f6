// health_floor: the least CPU a prober can spend on this machine — the
// reference the health-check benchmark compares the agent with. It does what
// a probe does, with nothing else: one thread, one epoll set, no timers per
// probe, no allocation per probe.
//
//   health_floor -kind http|tcp -targets p1,p2,... [-rate 1000] [-seconds 20]
//                [-addr 127.0.0.1] [-close fin|reset]
//
// Starts `rate` probes per second (one every 1/rate s, paced by a timerfd)
// against ADDR:p[i % len] (-addr, an IPv4 address, default 127.0.0.1), round-robin: a new
// non-blocking socket, connect; for tcp, close once connected; for http, write "GET /c/<i>
// HTTP/1.1" with Host, User-Agent, Accept and Connection: close headers (as the agent's probe
// sends), read the answer until the end of its headers and body (Content-Length) or EOF, close.
// -close reset (the agent's check_close = "reset"): SO_LINGER {1, 0} before every close of a
// connected socket, so that it ends with an RST instead of the FIN exchange; fin (default): a
// plain close.
// Prints on stdout:
//   probes=N ok=N failed=N secs=S user_pct=U sys_pct=S cpu_pct=T us_per_probe=C
// (its own CPU from getrusage, in % of one core, and per probe).
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <vector>

#include "health_floor_common.hpp"

namespace {

struct Conn {
  bool used = false;
  bool connected = false;
  size_t check = 0;
  size_t len = 0;
  char buf[1024];
};

}  // namespace

int main(int argc, char** argv) {
  const floor_common::Args args = floor_common::parse(argc, argv, "health_floor", false);
  const std::vector<uint16_t>& ports = args.ports;
  const long rate = args.rate, seconds = args.seconds;
  const in_addr addr = args.addr;
  const bool reset = args.reset, http = args.http();

  int ep = epoll_create1(EPOLL_CLOEXEC);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec its{};
  long ns = 1'000'000'000L / rate;
  its.it_interval.tv_sec = ns / 1'000'000'000L;
  its.it_interval.tv_nsec = ns % 1'000'000'000L;
  its.it_value = its.it_interval;
  timerfd_settime(tfd, 0, &its, nullptr);
  epoll_event tev{};
  tev.events = EPOLLIN;
  tev.data.fd = tfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  std::vector<Conn> conns(65536);
  uint64_t started = 0, ok = 0, failed = 0;
  long total = rate * seconds;
  const linger rst{1, 0};
  auto finish = [&](int fd, bool good) {
    conns[fd].used = false;
    // A failed connect has nothing to reset (and SO_LINGER on it is harmless).
    if (reset) setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
    close(fd);
    ++(good ? ok : failed);
  };
  rusage r0{};
  getrusage(RUSAGE_SELF, &r0);
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + std::chrono::seconds(seconds + 10);
  std::vector<epoll_event> evs(256);
  char req[256];
  while ((static_cast<long>(ok + failed) < total) && std::chrono::steady_clock::now() < deadline) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int e = 0; e < n; ++e) {
      int fd = evs[e].data.fd;
      if (fd == tfd) {
        uint64_t due = 0;
        if (read(tfd, &due, sizeof due) != sizeof due) continue;
        for (uint64_t k = 0; k < due && static_cast<long>(started) < total; ++k, ++started) {
          int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (s < 0 || s >= static_cast<int>(conns.size())) {
            if (s >= 0) close(s);
            ++failed;
            continue;
          }
          sockaddr_in a{};
          a.sin_family = AF_INET;
          a.sin_addr = addr;
          a.sin_port = htons(ports[started % ports.size()]);
          conns[s] = Conn{};
          conns[s].used = true;
          int rc = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
          if (rc != 0 && errno != EINPROGRESS) {
            finish(s, false);
            continue;
          }
          if (!http && rc == 0) {
            finish(s, true);
            continue;
          }
          epoll_event ev{};
          ev.events = EPOLLOUT | EPOLLIN;
          ev.data.fd = s;
          epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);  // connected or not: EPOLLOUT comes
          conns[s].check = started;
        }
        continue;
      }
      Conn& c = conns[fd];
      if (!c.used) continue;
      if (!c.connected) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
          finish(fd, false);
          continue;
        }
        if (!http) {
          finish(fd, true);
          continue;
        }
        c.connected = true;
        int len =
            floor_common::request(req, sizeof req, c.check, args, ports[c.check % ports.size()]);
        if (write(fd, req, static_cast<size_t>(len)) != len) {
          finish(fd, false);
          continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
        continue;
      }
      ssize_t got = read(fd, c.buf + c.len, sizeof c.buf - c.len);
      if (got < 0 && errno == EAGAIN) continue;
      if (got <= 0) {
        finish(fd, c.len > 0);
        continue;
      }
      c.len += static_cast<size_t>(got);
      if (floor_common::complete(std::string_view(c.buf, c.len)) || c.len == sizeof c.buf)
        finish(fd, true);
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage r1{};
  getrusage(RUSAGE_SELF, &r1);
  floor_common::printResult(started, ok, failed, secs, r0, r1);
  return failed ? 1 : 0;
}
