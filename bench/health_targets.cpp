// health_targets: local targets for the health-check benchmark, counting the
// probes they receive. One thread, one epoll set, no allocation per probe.
//
//   health_targets [-http-ports N] [-tcp-ports M] [-interval-ms MS]
//                  [-max-seconds S] [-addr 127.0.0.1]
//
// Listens on -addr (an IPv4 address, default 127.0.0.1) on N HTTP ports and M TCP ports (free ports
// picked by the kernel) plus one control port, and prints one line on stdout:
//   targets: control=P http=p1,p2,... tcp=q1,q2,...
// HTTP targets read one request, answer "200 OK" (body "ok"), and close;
// the path /c/<id> names the check (id < 1,048,576). TCP targets accept and
// close. Every accepted connection is one probe.
//
// The control port speaks HTTP (curl http://ADDR:P/<cmd>); it is not
// counted:
//   /stats   totals since start: http=... tcp=... http_ports_hit=...
//            tcp_ports_hit=... checks_seen=... bad=...
//   /mark    starts a measurement window
//   /window  since the last mark: secs=... http=... tcp=... checks=...
//            (checks probed) check_min=... check_max=... (probes per probed
//            check) http_port_min/max=... tcp_port_min/max=... (probes per
//            port, over all ports) gaps=... gap_p50_ms=... gap_p99_ms=...
//            gap_max_ms=... (|time between two probes of one check - the
//            interval|, for HTTP checks probed twice with the second probe in
//            the window: the jitter seen from outside)
// Stops on SIGTERM/SIGINT, or by itself after -max-seconds (default 3600).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kMaxCheckId = 1u << 20;
constexpr size_t kMaxGaps = 10'000'000;
constexpr size_t kRequestBytes = 2048;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "health_targets: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

enum class Kind : uint8_t { kNone, kHttp, kTcp, kControl, kConn };

struct Port {
  Kind kind;
  uint16_t port;
  uint64_t count = 0;
  uint64_t markCount = 0;
};

// An accepted HTTP connection (target or control) waiting for its request.
struct Conn {
  Kind listener = Kind::kNone;  // kHttp or kControl
  size_t portIndex = 0;
  Clock::time_point accepted;
  size_t len = 0;
  char buf[kRequestBytes];
};

struct Check {
  int64_t lastNs = -1;  // last probe, ns since start; -1: never
  uint32_t count = 0;
  uint32_t markCount = 0;
};

class Targets {
 public:
  Targets(in_addr addr, int httpPorts, int tcpPorts, int64_t intervalMs, int maxSeconds)
      : addr_(addr), intervalNs_(intervalMs * 1'000'000), maxSeconds_(maxSeconds) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1");
    for (int i = 0; i < httpPorts; ++i) listen(Kind::kHttp);
    for (int i = 0; i < tcpPorts; ++i) listen(Kind::kTcp);
    control_ = listen(Kind::kControl);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    sigfd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd_ < 0) die("signalfd");
    add(sigfd_);
    checks_.resize(kMaxCheckId);
    start_ = mark_ = Clock::now();
  }

  void printPorts() const {
    std::string http, tcp;
    for (const auto& p : ports_) {
      std::string& s = p.kind == Kind::kHttp ? http : tcp;
      if (p.kind == Kind::kControl) continue;
      if (!s.empty()) s += ',';
      s += std::to_string(p.port);
    }
    std::printf("targets: control=%u http=%s tcp=%s\n", ports_[control_].port, http.c_str(),
                tcp.c_str());
    std::fflush(stdout);
  }

  void run() {
    std::vector<epoll_event> evs(256);
    auto end = start_ + std::chrono::seconds(maxSeconds_);
    while (Clock::now() < end) {
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 1000);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      for (int i = 0; i < n; ++i) {
        int fd = evs[i].data.fd;
        if (fd == sigfd_) return;
        if (static_cast<size_t>(fd) < listenerOf_.size() && listenerOf_[fd] >= 0)
          acceptAll(fd, static_cast<size_t>(listenerOf_[fd]));
        else
          readConn(fd);
      }
    }
    std::fprintf(stderr, "health_targets: stopping after -max-seconds %d\n", maxSeconds_);
  }

 private:
  size_t listen(Kind kind) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr = addr_;
    a.sin_port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
    if (::listen(fd, 4096) != 0) die("listen");
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ports_.push_back(Port{kind, ntohs(a.sin_port)});
    if (listenerOf_.size() <= static_cast<size_t>(fd)) listenerOf_.resize(fd + 1, -1);
    listenerOf_[fd] = static_cast<int>(ports_.size() - 1);
    add(fd);
    return ports_.size() - 1;
  }

  void add(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
  }

  void acceptAll(int lfd, size_t pi) {
    Port& p = ports_[pi];
    for (;;) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        if (errno == ECONNABORTED) continue;
        die("accept4");
      }
      if (p.kind == Kind::kTcp) {
        ++p.count;
        ++tcpTotal_;
        close(fd);
        continue;
      }
      if (conns_.size() <= static_cast<size_t>(fd)) conns_.resize(fd + 1);
      if (!conns_[fd]) conns_[fd] = std::make_unique<Conn>();  // once per fd number
      Conn& c = *conns_[fd];
      c.listener = p.kind;
      c.portIndex = pi;
      c.accepted = Clock::now();
      c.len = 0;
      add(fd);
    }
  }

  void closeConn(int fd) {
    conns_[fd]->listener = Kind::kNone;
    close(fd);  // also leaves the epoll set
  }

  void readConn(int fd) {
    Conn& c = *conns_[fd];
    ssize_t n = read(fd, c.buf + c.len, kRequestBytes - 1 - c.len);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      return closeConn(fd);
    }
    c.len += static_cast<size_t>(n);
    std::string_view req(c.buf, c.len);
    if (req.find("\r\n\r\n") == std::string_view::npos) {
      if (c.len < kRequestBytes - 1) return;
      ++bad_;
      reply(fd, "400 Bad Request", "too long\n");
      return closeConn(fd);
    }
    // "GET /path HTTP/1.1"
    size_t sp = req.find(' ');
    size_t sp2 = sp == std::string_view::npos ? sp : req.find(' ', sp + 1);
    std::string_view path = sp2 == std::string_view::npos ? "" : req.substr(sp + 1, sp2 - sp - 1);
    if (c.listener == Kind::kControl) {
      control(fd, path);
    } else {
      probe(c, path);
      static constexpr std::string_view kOk =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
          "Connection: close\r\n\r\nok\n";
      send(fd, kOk);
    }
    closeConn(fd);
  }

  void probe(const Conn& c, std::string_view path) {
    ++ports_[c.portIndex].count;
    ++httpTotal_;
    if (!path.starts_with("/c/")) return;
    uint32_t id = 0;
    bool ok = path.size() > 3;
    for (char ch : path.substr(3)) {
      if (ch < '0' || ch > '9' || id >= kMaxCheckId) {
        ok = false;
        break;
      }
      id = id * 10 + static_cast<uint32_t>(ch - '0');
    }
    if (!ok || id >= kMaxCheckId) {
      ++bad_;
      return;
    }
    Check& k = checks_[id];
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(c.accepted - start_).count();
    if (k.count == 0) ++checksSeen_;
    if (k.lastNs >= 0 && gaps_.size() < kMaxGaps) {
      int64_t dev = std::abs(now - k.lastNs - intervalNs_);
      gaps_.push_back(static_cast<uint32_t>(std::min<int64_t>(dev / 1000, UINT32_MAX)));
    }
    k.lastNs = now;
    ++k.count;
  }

  // A fresh socket's send buffer takes a small answer whole; a short write
  // is a client that went away, which needs no answer.
  static void send(int fd, std::string_view r) {
    ssize_t ignored = write(fd, r.data(), r.size());
    (void)ignored;
  }

  static void reply(int fd, const char* status, const std::string& body) {
    send(fd, std::string("HTTP/1.1 ") + status + "\r\nContent-Type: text/plain\r\n" +
                 "Content-Length: " + std::to_string(body.size()) +
                 "\r\nConnection: close\r\n\r\n" + body);
  }

  void control(int fd, std::string_view path) {
    char line[512];
    if (path == "/stats") {
      uint64_t httpHit = 0, tcpHit = 0;
      for (const auto& p : ports_) {
        if (p.count && p.kind == Kind::kHttp) ++httpHit;
        if (p.count && p.kind == Kind::kTcp) ++tcpHit;
      }
      std::snprintf(line, sizeof line,
                    "http=%lu tcp=%lu http_ports_hit=%lu tcp_ports_hit=%lu checks_seen=%lu "
                    "bad=%lu\n",
                    httpTotal_, tcpTotal_, httpHit, tcpHit, checksSeen_, bad_);
    } else if (path == "/mark") {
      mark_ = Clock::now();
      markHttp_ = httpTotal_;
      markTcp_ = tcpTotal_;
      for (auto& p : ports_) p.markCount = p.count;
      for (auto& k : checks_) k.markCount = k.count;
      gaps_.clear();
      std::snprintf(line, sizeof line, "ok\n");
    } else if (path == "/window") {
      window(line, sizeof line);
    } else {
      reply(fd, "404 Not Found", "use /stats, /mark or /window\n");
      return;
    }
    reply(fd, "200 OK", line);
  }

  void window(char* line, size_t size) {
    double secs = std::chrono::duration<double>(Clock::now() - mark_).count();
    uint64_t checks = 0, cmin = UINT64_MAX, cmax = 0;
    for (const auto& k : checks_) {
      uint64_t d = k.count - k.markCount;
      if (!d) continue;
      ++checks;
      cmin = std::min(cmin, d);
      cmax = std::max(cmax, d);
    }
    uint64_t pmin[2] = {UINT64_MAX, UINT64_MAX}, pmax[2] = {0, 0};
    for (const auto& p : ports_) {
      if (p.kind == Kind::kControl) continue;
      int i = p.kind == Kind::kHttp ? 0 : 1;
      pmin[i] = std::min(pmin[i], p.count - p.markCount);
      pmax[i] = std::max(pmax[i], p.count - p.markCount);
    }
    for (int i = 0; i < 2; ++i)
      if (pmin[i] == UINT64_MAX) pmin[i] = 0;
    if (!checks) cmin = 0;
    std::vector<uint32_t> g = gaps_;
    std::sort(g.begin(), g.end());
    auto pct = [&](double q) {
      if (g.empty()) return 0.0;
      size_t i = static_cast<size_t>(q * static_cast<double>(g.size() - 1) + 0.5);
      return g[i] / 1000.0;
    };
    std::snprintf(line, size,
                  "secs=%.3f http=%lu tcp=%lu checks=%lu check_min=%lu check_max=%lu "
                  "http_port_min=%lu http_port_max=%lu tcp_port_min=%lu tcp_port_max=%lu "
                  "gaps=%zu gap_p50_ms=%.3f gap_p99_ms=%.3f gap_max_ms=%.3f\n",
                  secs, httpTotal_ - markHttp_, tcpTotal_ - markTcp_, checks, cmin, cmax, pmin[0],
                  pmax[0], pmin[1], pmax[1], g.size(), pct(0.5), pct(0.99), pct(1.0));
  }

  in_addr addr_;
  int64_t intervalNs_;
  int maxSeconds_;
  int ep_ = -1;
  int sigfd_ = -1;
  size_t control_ = 0;
  std::vector<Port> ports_;
  std::vector<int> listenerOf_;               // fd -> index in ports_, -1 if not a listener
  std::vector<std::unique_ptr<Conn>> conns_;  // by fd
  std::vector<Check> checks_;                 // by check id
  std::vector<uint32_t> gaps_;                // µs, since the mark
  Clock::time_point start_, mark_;
  uint64_t httpTotal_ = 0, tcpTotal_ = 0, markHttp_ = 0, markTcp_ = 0;
  uint64_t checksSeen_ = 0, bad_ = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "health_targets: %s\nusage: health_targets [-http-ports N] [-tcp-ports M] "
               "[-interval-ms MS] [-max-seconds S] [-addr 127.0.0.1]\n",
               why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int httpPorts = 100, tcpPorts = 100, maxSeconds = 3600;
  long intervalMs = 10000;
  in_addr addr{};
  addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    if (a == "-addr") {
      if (inet_pton(AF_INET, argv[++i], &addr) != 1) usage("-addr: not an IPv4 address");
      continue;
    }
    long v = std::strtol(argv[++i], nullptr, 10);
    if (a == "-http-ports")
      httpPorts = static_cast<int>(v);
    else if (a == "-tcp-ports")
      tcpPorts = static_cast<int>(v);
    else if (a == "-interval-ms")
      intervalMs = v;
    else if (a == "-max-seconds")
      maxSeconds = static_cast<int>(v);
    else
      usage(("unknown flag " + a).c_str());
  }
  if (httpPorts < 0 || tcpPorts < 0 || httpPorts + tcpPorts > 20000 || intervalMs <= 0 ||
      maxSeconds <= 0)
    usage("bad value");
  Targets t(addr, httpPorts, tcpPorts, intervalMs, maxSeconds);
  t.printPorts();
  t.run();
  return 0;
}
