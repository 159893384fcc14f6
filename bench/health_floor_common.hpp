// What the two health-check floors (health_floor: epoll; health_floor_uring:
// io_uring) share: their flags, the end of an answer, and the result line.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace floor_common {

struct Args {
  std::string kind;  // http or tcp
  std::vector<uint16_t> ports;
  long rate = 1000, seconds = 20, tickMs = 10;
  in_addr addr{htonl(INADDR_LOOPBACK)};
  std::string addrText = "127.0.0.1";
  bool reset = false;  // -close reset
  bool http() const { return kind == "http"; }
};

[[noreturn]] inline void usage(const char* name, const char* why, bool tick) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s -kind http|tcp -targets p1,p2,... [-rate 1000] [-seconds 20] "
               "[-addr 127.0.0.1] [-close fin|reset]%s\n",
               name, why, name, tick ? " [-tick-ms 10]" : "");
  std::exit(2);
}

// The flags; -tick-ms only when `tick`. Exits with a usage line on a bad one.
inline Args parse(int argc, char** argv, const char* name, bool tick) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i], v = argv[i + 1];
    if (f == "-kind") {
      a.kind = v;
    } else if (f == "-targets") {
      std::stringstream ss(v);
      for (std::string p; std::getline(ss, p, ',');)
        if (!p.empty()) a.ports.push_back(static_cast<uint16_t>(std::atoi(p.c_str())));
    } else if (f == "-rate") {
      a.rate = std::atol(v.c_str());
    } else if (f == "-addr") {
      if (inet_pton(AF_INET, v.c_str(), &a.addr) != 1)
        usage(name, "-addr: not an IPv4 address", tick);
      a.addrText = v;
    } else if (f == "-close") {
      if (v != "fin" && v != "reset") usage(name, "-close: fin or reset", tick);
      a.reset = v == "reset";
    } else if (f == "-seconds") {
      a.seconds = std::atol(v.c_str());
    } else if (tick && f == "-tick-ms") {
      a.tickMs = std::atol(v.c_str());
    } else {
      usage(name, "unknown flag", tick);
    }
  }
  if ((a.kind != "http" && a.kind != "tcp") || a.ports.empty() || a.rate <= 0 || a.rate > 100000 ||
      a.seconds <= 0 || a.seconds > 3600 || a.tickMs <= 0 || a.tickMs > 1000)
    usage(name, "-kind http|tcp and -targets are required; 0 < rate <= 100000, 0 < seconds <= 3600",
          tick);
  return a;
}

// The request a probe of check `check` sends (as the agent's probe).
inline int request(char* out, size_t size, size_t check, const Args& a, uint16_t port) {
  return std::snprintf(out, size,
                       "GET /c/%zu HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: Cairn Health "
                       "Check\r\nAccept: text/plain, text/*, */*\r\nConnection: close\r\n\r\n",
                       check, a.addrText.c_str(), port);
}

// A complete answer: headers, and Content-Length bytes of body after them.
inline bool complete(std::string_view r) {
  size_t end = r.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  size_t cl = r.find("Content-Length: ");
  if (cl == std::string_view::npos || cl > end) return false;
  size_t n = std::strtoul(r.data() + cl + 16, nullptr, 10);
  return r.size() >= end + 4 + n;
}

inline double cpuSecs(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

// probes=N ok=N failed=N secs=S user_pct=U sys_pct=S cpu_pct=T us_per_probe=C
inline void printResult(uint64_t started, uint64_t ok, uint64_t failed, double secs,
                        const rusage& r0, const rusage& r1) {
  double user = cpuSecs(r1.ru_utime) - cpuSecs(r0.ru_utime);
  double sys = cpuSecs(r1.ru_stime) - cpuSecs(r0.ru_stime);
  std::printf(
      "probes=%lu ok=%lu failed=%lu secs=%.3f user_pct=%.2f sys_pct=%.2f cpu_pct=%.2f "
      "us_per_probe=%.1f\n",
      started, ok, failed, secs, 100 * user / secs, 100 * sys / secs, 100 * (user + sys) / secs,
      (ok + failed) ? 1e6 * (user + sys) / static_cast<double>(ok + failed) : 0.0);
}

}  // namespace floor_common
