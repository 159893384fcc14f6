// Probes: one run of an HTTP(S), TCP, gRPC or script check, asynchronous on an
// io_context the caller runs, so thousands can be in flight on one or two
// threads. Each probe opens its own connection (as Consul does) and is
// bounded by its timeout in every step (resolve, connect, TLS, write, read).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/model.hpp"

namespace boost::asio {
class io_context;
}

namespace cairn::health {

// The longest output kept (Consul's default check output limit).
inline constexpr size_t kMaxOutputBytes = 4096;
inline constexpr std::chrono::milliseconds kDefaultProbeTimeout = std::chrono::seconds(10);

struct ProbeResult {
  registry::HealthStatus status = registry::HealthStatus::kCritical;
  std::string output;
};
// Runs exactly once, on a thread running the io_context.
using ProbeDone = std::function<void(ProbeResult)>;

struct HttpProbeSpec {
  std::string url;  // http://host:port/path or https://...
  std::string method = "GET";
  std::map<std::string, std::vector<std::string>> header;
  std::string body;
  std::chrono::milliseconds timeout = kDefaultProbeTimeout;
  bool tlsSkipVerify = false;
  std::string tlsServerName;  // SNI and the name checked; default: the URL's host
};

struct TcpProbeSpec {
  std::string address;  // host:port, [v6]:port
  std::chrono::milliseconds timeout = kDefaultProbeTimeout;
};

struct ScriptProbeSpec {
  std::vector<std::string> args;  // args[0] is the program (searched in PATH)
  std::chrono::milliseconds timeout = kDefaultProbeTimeout;
};

// grpc.health.v1.Health/Check over HTTP/2 (h2c, or TLS with ALPN "h2").
struct GrpcProbeSpec {
  std::string target;  // Consul's GRPC: host:port or host:port/service.Name
  bool useTls = false;
  std::chrono::milliseconds timeout = kDefaultProbeTimeout;
  bool tlsSkipVerify = false;
  std::string tlsServerName;  // SNI and the name checked; default: the target's host
};

// How an HTTP or TCP probe ends its connection, once the answer has been
// read (HTTP) or the connect succeeded (TCP); also at a timeout or an error.
// gRPC and script probes are not affected.
enum class ProbeClose : uint8_t {
  // shutdown + close: the FIN exchange, and TIME_WAIT on whichever side
  // closed first (Consul's checks).
  kFin,
  // SO_LINGER {on, 0 s}, then close: one RST, no FIN exchange and no
  // TIME_WAIT on either side (HAProxy's health checks). The result does not
  // change: the probe has what it needs before it resets.
  kReset,
};

// "fin" or "reset" (the agent's check_close); nullopt for anything else.
std::optional<ProbeClose> parseProbeClose(std::string_view s);

struct ProberOptions {
  ProbeClose close = ProbeClose::kFin;
  // Plain HTTP and TCP probes to IP literals go through io_uring
  // (probe_ring.hpp) when the kernel allows it (a reset close needs Linux
  // 6.7); else, and for everything else, through Asio sockets. Only when one
  // thread runs the io_context (the ring belongs to the first thread that
  // uses it).
  bool ioUring = false;
  // While ring probes are in flight, the ring is polled at each multiple of
  // this on the steady clock (completions wait for the next poll).
  std::chrono::milliseconds ringPoll = std::chrono::milliseconds(10);
};

// 2xx passing, 429 warning (Too Many Requests), anything else critical.
registry::HealthStatus httpStatusOf(int code);

// One check's probe, worked out once by Prober::prepare (URL parsed, the
// address of an IP literal, the request's bytes, the TLS context chosen), so
// that a run parses nothing. Immutable; runs in flight share it.
class PreparedProbe {
 public:
  virtual ~PreparedProbe() = default;
};
using PreparedProbePtr = std::shared_ptr<const PreparedProbe>;

// Starts probes on one io_context. Methods are thread-safe; the Prober must
// outlive the io_context's handlers (destroy it after the io_context has
// stopped, or once no probe is in flight).
class Prober {
 public:
  virtual ~Prober() = default;

  // A spec that cannot run (a bad URL or address) still prepares: its runs
  // report critical with the reason.
  virtual PreparedProbePtr prepare(HttpProbeSpec spec) = 0;
  virtual PreparedProbePtr prepare(TcpProbeSpec spec) = 0;
  // Runs args with no shell; stdout and stderr together are the output.
  // Exit 0 passing, 1 warning, anything else (or killed) critical. At the
  // timeout the whole process group is killed.
  virtual PreparedProbePtr prepare(ScriptProbeSpec spec) = 0;
  // SERVING (with grpc-status 0) passing; anything else, a non-zero
  // grpc-status, a timeout or a connection error critical.
  virtual PreparedProbePtr prepare(GrpcProbeSpec spec) = 0;

  // Starts one run of `probe`, which this Prober prepared (another's is
  // undefined behaviour). Each run opens its own connection or process.
  virtual void run(const PreparedProbePtr& probe, ProbeDone done) = 0;

  // One run of a spec prepared for it alone.
  void http(HttpProbeSpec spec, ProbeDone done) { run(prepare(std::move(spec)), std::move(done)); }
  void tcp(TcpProbeSpec spec, ProbeDone done) { run(prepare(std::move(spec)), std::move(done)); }
  void script(ScriptProbeSpec spec, ProbeDone done) {
    run(prepare(std::move(spec)), std::move(done));
  }
  void grpc(GrpcProbeSpec spec, ProbeDone done) { run(prepare(std::move(spec)), std::move(done)); }

  // Probes started on the io_uring ring so far.
  virtual uint64_t ioUringProbes() const { return 0; }

  // Fails only if the system's TLS trust store cannot be loaded.
  static Result<std::unique_ptr<Prober>> create(boost::asio::io_context& ioc,
                                                ProberOptions opts = {});
};

}  // namespace cairn::health
