// health_register: registers many services, each with one HTTP or TCP check,
// through PUT /v1/agent/service/register of a running agent.
//
//   health_register -port P -kind http|tcp -count N -targets p1,p2,...
//                   [-host 127.0.0.1] [-target-host 127.0.0.1] [-interval 10s]
//                   [-timeout 5s] [-conns 8] [-prefix hb]
//
// Service i (0 <= i < N): ID "<prefix>-<kind>-<i>", name "<prefix>-<kind>-<i % 100>",
// port targets[i % len]; its check probes
//   http: http://<target-host>:<port>/c/<i>  (the path names the check for the targets)
//   tcp:  <target-host>:<port>
// Registrations go over C keep-alive connections in parallel (one thread
// each). Prints "registered=N secs=S rate=R" on stdout. Exit 1 on any failed
// request (non-2xx or I/O error).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Options {
  std::string host = "127.0.0.1";
  std::string targetHost = "127.0.0.1";  // where the targets listen
  std::string port;
  std::string kind;
  long count = 0;
  std::vector<std::string> targets;
  std::string interval = "10s";
  std::string timeout = "5s";
  int conns = 8;
  std::string prefix = "hb";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "health_register: " << why
            << "\nusage: health_register -port P -kind http|tcp -count N -targets p1,p2,..."
               " [-host H] [-target-host 127.0.0.1] [-interval 10s] [-timeout 5s] [-conns C] "
               "[-prefix hb]\n";
  std::exit(2);
}

std::string body(const Options& o, long i) {
  const std::string& port = o.targets[static_cast<size_t>(i) % o.targets.size()];
  std::string id = o.prefix + "-" + o.kind + "-" + std::to_string(i);
  std::string name = o.prefix + "-" + o.kind + "-" + std::to_string(i % 100);
  std::string check = o.kind == "http" ? "\"HTTP\":\"http://" + o.targetHost + ":" + port + "/c/" +
                                             std::to_string(i) + "\""
                                       : "\"TCP\":\"" + o.targetHost + ":" + port + "\"";
  return "{\"ID\":\"" + id + "\",\"Name\":\"" + name + "\",\"Address\":\"" + o.targetHost +
         "\",\"Port\":" + port + ",\"Check\":{" + check + ",\"Interval\":\"" + o.interval +
         "\",\"Timeout\":\"" + o.timeout + "\"}}";
}

// Registers services first, first + step, ... below count on one connection.
bool worker(const Options& o, long first, long step) {
  try {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    tcp::socket sock(ioc);
    asio::connect(sock, resolver.resolve(o.host, o.port));
    beast::flat_buffer buf;
    for (long i = first; i < o.count; i += step) {
      bhttp::request<bhttp::string_body> req(bhttp::verb::put, "/v1/agent/service/register", 11);
      req.set(bhttp::field::host, o.host);
      req.body() = body(o, i);
      req.prepare_payload();
      bhttp::write(sock, req);
      bhttp::response<bhttp::string_body> res;
      bhttp::read(sock, buf, res);
      if (res.result_int() / 100 != 2) {
        std::cerr << "health_register: service " << i << ": " << res.result_int() << " "
                  << res.body() << "\n";
        return false;
      }
    }
    return true;
  } catch (const std::exception& e) {
    std::cerr << "health_register: " << e.what() << "\n";
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage("missing value for " + a);
    std::string v = argv[++i];
    if (a == "-host") {
      o.host = v;
    } else if (a == "-target-host") {
      o.targetHost = v;
    } else if (a == "-port") {
      o.port = v;
    } else if (a == "-kind") {
      o.kind = v;
    } else if (a == "-count") {
      o.count = std::atol(v.c_str());
    } else if (a == "-targets") {
      std::stringstream ss(v);
      for (std::string p; std::getline(ss, p, ',');)
        if (!p.empty()) o.targets.push_back(p);
    } else if (a == "-interval") {
      o.interval = v;
    } else if (a == "-timeout") {
      o.timeout = v;
    } else if (a == "-conns") {
      o.conns = std::atoi(v.c_str());
    } else if (a == "-prefix") {
      o.prefix = v;
    } else {
      usage("unknown flag " + a);
    }
  }
  if (o.port.empty() || (o.kind != "http" && o.kind != "tcp") || o.count <= 0 ||
      o.targets.empty() || o.conns <= 0)
    usage("-port, -kind http|tcp, -count > 0 and -targets are required");
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<char> ok(static_cast<size_t>(o.conns), 0);
  for (int t = 0; t < o.conns; ++t)
    threads.emplace_back([&, t] { ok[static_cast<size_t>(t)] = worker(o, t, o.conns); });
  for (auto& t : threads) t.join();
  for (char k : ok)
    if (!k) return 1;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("registered=%ld secs=%.3f rate=%.0f\n", o.count, secs,
              static_cast<double>(o.count) / secs);
  return 0;
}
