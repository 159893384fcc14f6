// register_latency: latency of PUT /v1/agent/service/register against a
// running agent, after preloading the catalog to a given size.
//
//   register_latency -port P [-host 127.0.0.1] [-preload N] [-services S]
//                    [-conns C] [-samples M] [-warmup W] [-settle-ms MS]
//                    [-target NAME] [-agent-pid PID]
//
// 1. Preload: N instances spread round-robin over S services (svc-0000 ...),
//    registered over C keep-alive connections in parallel (one thread each).
//    Its wall time and rate are reported: this is throughput, not latency.
// 2. Settle: sleep MS milliseconds (background work of the preload, such as
//    RocksDB memtable flushes, is not charged to the samples).
// 3. Warm-up: W registrations of a separate service (not recorded).
// 4. Samples: M sequential registrations of NEW instances of one service
//    (NAME, empty before), one keep-alive connection, one request in flight.
//    Each sample is the wall time from the first byte written to the last
//    byte of the response read (steady_clock), so it includes the agent's
//    whole write path: decode, propose, the synced log write, apply, publish.
//
// Prints human-readable lines on stderr and one machine-readable line on
// stdout:  preload_n=... preload_s=... preload_rps=... samples=... p50_us=...
//          p90_us=... p99_us=... p999_us=... max_us=... mean_us=...
//          samples_s=... agent_cpu_pct=... client_cpu_pct=... other_load_pct=...
// The last four describe the sample phase only: its wall time; the agent's
// CPU (all threads, from /proc/PID/task/*/schedstat, with -agent-pid) and this
// process's CPU (getrusage), each in % of one core; and the CPU that other
// processes used meanwhile, in % of the whole machine (all CPUs' busy time from
// /proc/stat, tick-based so approximate, minus the agent's and ours). A high
// other_load_pct means the samples were disturbed.
// Exit code 1 on any failed request (non-2xx or I/O error).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cairn::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  long preload = 1000;
  long services = 1000;
  int conns = 8;
  long samples = 2000;
  long warmup = 200;
  long settleMs = 2000;
  std::string target = "bench-target";
  long agentPid = 0;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "register_latency: " << why
            << "\nusage: register_latency -port P [-host H] [-preload N] [-services S] [-conns C]"
               " [-samples M] [-warmup W] [-settle-ms MS] [-target NAME] [-agent-pid PID]\n";
  std::exit(2);
}

Options parseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    while (a.size() > 1 && a[0] == '-' && a[1] == '-') a.erase(0, 1);
    if (i + 1 >= argc) usage("missing value for " + a);
    std::string v = argv[++i];
    auto num = [&](long lo) {
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < lo) usage("bad value for " + a + ": " + v);
      return n;
    };
    if (a == "-host")
      o.host = v;
    else if (a == "-port")
      o.port = v;
    else if (a == "-preload")
      o.preload = num(0);
    else if (a == "-services")
      o.services = num(1);
    else if (a == "-conns")
      o.conns = static_cast<int>(num(1));
    else if (a == "-samples")
      o.samples = num(1);
    else if (a == "-warmup")
      o.warmup = num(0);
    else if (a == "-settle-ms")
      o.settleMs = num(0);
    else if (a == "-target")
      o.target = v;
    else if (a == "-agent-pid")
      o.agentPid = num(1);
    else
      usage("unknown flag " + a);
  }
  if (o.port.empty()) usage("-port is required");
  return o;
}

// One keep-alive HTTP/1.1 connection; one request at a time.
class Connection {
 public:
  Connection(const std::string& host, const std::string& port) : socket_(ioc_) {
    tcp::resolver resolver(ioc_);
    asio::connect(socket_, resolver.resolve(host, port));
    socket_.set_option(tcp::no_delay(true));
    host_ = host + ":" + port;
  }

  // PUTs body to target; returns the status code (0 on an I/O error, with
  // the reason in error()).
  unsigned put(const std::string& target, const std::string& body) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::put, target, 11};
    req.set(bhttp::field::host, host_);
    req.set(bhttp::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    bhttp::write(socket_, req, ec);
    if (ec) return fail(ec);
    bhttp::response<bhttp::string_body> res;
    bhttp::read(socket_, buffer_, res, ec);
    if (ec) return fail(ec);
    if (res.result_int() / 100 != 2) error_ = res.body();
    return res.result_int();
  }

  const std::string& error() const { return error_; }

 private:
  unsigned fail(const beast::error_code& ec) {
    error_ = ec.message();
    return 0;
  }

  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  std::string host_;
  std::string error_;
};

std::string serviceName(long s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "svc-%04ld", s);
  return buf;
}

// A registration body like a typical client's: name, id, address, port, a tag.
std::string registration(const std::string& name, const std::string& id, long n) {
  char addr[32];
  std::snprintf(addr, sizeof addr, "10.%ld.%ld.%ld", (n >> 16) & 255, (n >> 8) & 255, n & 255);
  return "{\"Name\":\"" + name + "\",\"ID\":\"" + id + "\",\"Address\":\"" + addr +
         "\",\"Port\":" + std::to_string(8000 + n % 1000) + ",\"Tags\":[\"v1\"]}";
}

constexpr const char* kRegisterPath = "/v1/agent/service/register";

// Registers instances [0, n) spread over `services` services, over `conns`
// connections in parallel. Returns false on the first failure.
bool preload(const Options& o) {
  std::atomic<long> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < o.conns; ++c) {
    threads.emplace_back([&] {
      try {
        Connection conn(o.host, o.port);
        for (long i = next++; i < o.preload && !failed; i = next++) {
          std::string name = serviceName(i % o.services);
          std::string id = name + "-" + std::to_string(i / o.services);
          unsigned code = conn.put(kRegisterPath, registration(name, id, i));
          if (code / 100 != 2) {
            std::cerr << "preload: register " << id << " failed: " << code << " " << conn.error()
                      << "\n";
            failed = true;
          }
        }
      } catch (const std::exception& e) {
        std::cerr << "preload: " << e.what() << "\n";
        failed = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  return !failed;
}

// CPU time of every thread of process pid, in seconds (0 if unreadable).
double processCpuSeconds(long pid) {
  if (pid <= 0) return 0;
  double ns = 0;
  std::error_code ec;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "schedstat");
    double onCpu = 0;
    if (in >> onCpu) ns += onCpu;
  }
  return ns / 1e9;
}

double selfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Busy and total CPU seconds of the whole machine (all CPUs), from /proc/stat.
std::pair<double, double> machineCpuSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double v[8] = {};
  in >> cpu;
  for (double& x : v) in >> x;
  double total = 0;
  for (double x : v) total += x;
  double idle = v[3] + v[4];  // idle + iowait
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return {(total - idle) / hz, total / hz};
}

double percentile(const std::vector<double>& sorted, double p) {
  // Nearest-rank: the smallest sample with at least p of them at or below it.
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

int run(const Options& o) {
  auto t0 = Clock::now();
  if (!preload(o)) return 1;
  double preloadS = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cerr << "preload: " << o.preload << " instances over " << o.services << " services, "
            << o.conns << " connections: " << preloadS << " s ("
            << (preloadS > 0 ? static_cast<long>(o.preload / preloadS) : 0)
            << " registrations/s)\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(o.settleMs));

  Connection conn(o.host, o.port);
  for (long i = 0; i < o.warmup; ++i) {
    std::string id = "bench-warmup-" + std::to_string(i);
    if (conn.put(kRegisterPath, registration("bench-warmup", id, i)) / 100 != 2) {
      std::cerr << "warm-up: register " << id << " failed: " << conn.error() << "\n";
      return 1;
    }
  }

  std::vector<double> us;
  us.reserve(static_cast<size_t>(o.samples));
  auto phase0 = Clock::now();
  double agent0 = processCpuSeconds(o.agentPid), self0 = selfCpuSeconds();
  auto [busy0, total0] = machineCpuSeconds();
  for (long i = 0; i < o.samples; ++i) {
    std::string id = o.target + "-" + std::to_string(i);
    std::string body = registration(o.target, id, i);  // built outside the timed part
    auto s = Clock::now();
    unsigned code = conn.put(kRegisterPath, body);
    auto e = Clock::now();
    if (code / 100 != 2) {
      std::cerr << "sample: register " << id << " failed: " << code << " " << conn.error() << "\n";
      return 1;
    }
    us.push_back(std::chrono::duration<double, std::micro>(e - s).count());
  }
  double wall = std::chrono::duration<double>(Clock::now() - phase0).count();
  double agentCpu = processCpuSeconds(o.agentPid) - agent0, selfCpu = selfCpuSeconds() - self0;
  auto [busy1, total1] = machineCpuSeconds();
  double other =
      total1 > total0 ? std::max(0.0, (busy1 - busy0 - agentCpu - selfCpu) / (total1 - total0)) : 0;

  double sum = 0;
  for (double v : us) sum += v;
  std::sort(us.begin(), us.end());
  std::printf(
      "preload_n=%ld preload_s=%.2f preload_rps=%.0f samples=%ld p50_us=%.0f p90_us=%.0f "
      "p99_us=%.0f p999_us=%.0f max_us=%.0f mean_us=%.0f samples_s=%.2f agent_cpu_pct=%.0f "
      "client_cpu_pct=%.0f other_load_pct=%.0f\n",
      o.preload, preloadS, preloadS > 0 ? static_cast<double>(o.preload) / preloadS : 0.0,
      o.samples, percentile(us, 0.50), percentile(us, 0.90), percentile(us, 0.99),
      percentile(us, 0.999), us.back(), sum / static_cast<double>(us.size()), wall,
      100 * agentCpu / wall, 100 * selfCpu / wall, 100 * other);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) {
  try {
    return cairn::bench::run(cairn::bench::parseArgs(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "register_latency: " << e.what() << "\n";
    return 1;
  }
}
