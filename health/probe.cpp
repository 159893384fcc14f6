// Asio/Beast implementation of the probes. Every probe is a small object
// kept alive by its own pending handlers (shared_from_this); a deadline
// timer closes its socket (or kills its process group) at the timeout, which
// fails whatever operation is pending, and the first finish() wins.
#include "health/probe.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "health/address.hpp"
#include "health/grpc_probe.hpp"
#include "health/probe_ring.hpp"
#include "health/tls_client.hpp"

extern char** environ;

namespace cairn::health {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using registry::HealthStatus;
// Bound to the io_context's executor, not the type-erased any_io_executor:
// no executor copies and work counting through a vtable per operation.
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>,
                                         asio::io_context::executor_type>;

constexpr uint32_t kMaxHeaderBytes = 16 * 1024;

void capOutput(std::string& s) {
  if (s.size() > kMaxOutputBytes) s.resize(kMaxOutputBytes);
}

struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;
};

std::optional<ParsedUrl> parseUrl(std::string_view url) {
  ParsedUrl u;
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
    u.port = "80";
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    u.tls = true;
    u.port = "443";
  } else {
    return std::nullopt;
  }
  size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) u.port = std::string(authority.substr(1));
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
  }
  if (u.host.empty() || u.port.empty()) return std::nullopt;
  return u;
}

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// The endpoint of an IP literal with a numeric port: such a target needs no
// resolver (whose getaddrinfo runs on a thread of its own, two thread
// switches per probe). Nullopt for a name or a service port.
std::optional<tcp::endpoint> literalEndpoint(const std::string& host, const std::string& port) {
  uint16_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size()) return std::nullopt;
  boost::system::error_code bad;
  auto addr = asio::ip::make_address(host, bad);
  if (bad) return std::nullopt;
  return tcp::endpoint(addr, p);
}

// Connects `socket` to `endpoint` if there is one (an IP literal's), else
// resolves host:port through `resolver` (created here, so that a probe of a
// literal never builds one) and tries every address in turn. Calls
// done(error_code) once.
template <typename Done>
void connectTo(Socket& socket, std::optional<tcp::resolver>& resolver,
               const std::optional<tcp::endpoint>& endpoint, const std::string& host,
               const std::string& port, Done done) {
  if (endpoint) {
    socket.async_connect(*endpoint, std::move(done));
    return;
  }
  resolver.emplace(socket.get_executor());
  resolver->async_resolve(
      host, port,
      [&socket, done = std::move(done)](beast::error_code ec,
                                        const tcp::resolver::results_type& r) mutable {
        if (ec) return done(ec);
        asio::async_connect(socket, r,
                            [done = std::move(done)](beast::error_code ec2,
                                                     const tcp::endpoint&) mutable { done(ec2); });
      });
}

// Ends a probe's connection as `how` says. A socket never connected (or
// already closed) just closes: there is nothing to reset.
void closeConnection(Socket& socket, ProbeClose how) {
  beast::error_code ignored;
  if (!socket.is_open()) return;
  if (how == ProbeClose::kReset)
    // Linux's tcp_close: with a zero linger time it sends an RST and frees
    // the socket at once (no FIN, no TIME_WAIT).
    socket.set_option(asio::socket_base::linger(true, 0), ignored);
  else
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

enum class ProbeKind : uint8_t { kHttp, kTcp, kScript, kGrpc };

// What every prepared probe of this file is: ProberImpl::run tells them
// apart by `kind`.
struct Prepared : PreparedProbe {
  explicit Prepared(ProbeKind k) : kind(k) {}
  ProbeKind kind;
};

// An HTTP(S) check's probe, worked out once: the URL parsed, the address of
// an IP literal, the request's bytes, the TLS context and name.
struct PreparedHttp final : Prepared {
  PreparedHttp() : Prepared(ProbeKind::kHttp) {}
  HttpProbeSpec spec;
  std::optional<ParsedUrl> url;           // nullopt: not an http(s) URL
  std::optional<tcp::endpoint> endpoint;  // when the host is an IP literal
  std::string request;                    // the whole request, as sent
  std::string prefix;                     // "HTTP GET <url>: ", before every output
  ssl::context* tls = nullptr;            // https: the context to use
  std::string tlsName;                    // SNI and the name verified
  bool sni = false;                       // tlsName is a name, not an IP literal
};

// The request a probe sends: the method, the URL's target, the check's
// headers, then Host, User-Agent and Accept unless the check set them, and
// Connection: close (a new connection per probe, as Consul).
std::string buildRequest(const HttpProbeSpec& spec, const ParsedUrl& url) {
  bhttp::request<bhttp::string_body> req;
  std::string method = spec.method.empty() ? "GET" : spec.method;
  bhttp::verb verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown)
    req.method_string(method);
  else
    req.method(verb);
  req.target(url.target);
  req.version(11);
  bool userHost = false;
  for (const auto& [name, values] : spec.header) {
    if (beast::iequals(name, "host")) userHost = true;
    for (const auto& v : values) req.insert(name, v);
  }
  if (!userHost) {
    bool v6 = url.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + url.host + "]" : url.host;
    bool defaultPort = (url.tls && url.port == "443") || (!url.tls && url.port == "80");
    req.set(bhttp::field::host, defaultPort ? host : host + ":" + url.port);
  }
  if (req.find(bhttp::field::user_agent) == req.end())
    req.set(bhttp::field::user_agent, "Cairn Health Check");
  if (req.find(bhttp::field::accept) == req.end())
    req.set(bhttp::field::accept, "text/plain, text/*, */*");
  req.set(bhttp::field::connection, "close");
  req.body() = spec.body;
  req.prepare_payload();
  std::ostringstream out;
  out << req;
  return out.str();
}

// What a probe keeps of an HTTP response: the status, the reason and the
// start of the body (chunked or not, decoded by Beast's parser); the header
// fields are skipped, not stored (no allocation per field).
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  ResponseParser() {
    header_limit(kMaxHeaderBytes);
    // The body is kept only up to kMaxOutputBytes, so its declared length
    // does not matter.
    body_limit(std::numeric_limits<uint64_t>::max());
    eager(true);
  }
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const std::string& body() const { return body_; }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       beast::error_code&) override {}
  void on_response_impl(int code, beast::string_view reason, int, beast::error_code&) override {
    code_ = code;
    reason_.assign(reason.data(), reason.size());
  }
  void on_field_impl(bhttp::field, beast::string_view, beast::string_view,
                     beast::error_code&) override {}
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<uint64_t>&, beast::error_code&) override {}
  size_t on_body_impl(beast::string_view s, beast::error_code&) override {
    keep(s);
    return s.size();
  }
  void on_chunk_header_impl(uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, beast::string_view s, beast::error_code&) override {
    keep(s);
    return s.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  void keep(beast::string_view s) {
    size_t room = kMaxOutputBytes - std::min(kMaxOutputBytes, body_.size());
    body_.append(s.data(), std::min(room, s.size()));
  }

  int code_ = 0;
  std::string reason_;
  std::string body_;
};

// What an HTTP probe makes of the answer: the bytes read go into one buffer
// and straight to Beast's parser; then the check's result. Shared by the
// probes on Asio sockets and those on the io_uring ring.
class HttpAnswer {
 public:
  enum class Next : uint8_t { kRead, kSucceed, kFail };

  explicit HttpAnswer(const PreparedHttp& p) : p_(p) {}

  // Where the next read goes; empty when the buffer is full of what the
  // parser cannot take (a header over the limit).
  asio::mutable_buffer prepare() {
    // The parser takes the header whole (up to kMaxHeaderBytes) and the body
    // as it comes.
    size_t room = std::min(kReadBytes, buffer_.max_size() - buffer_.size());
    if (room == 0) return {};
    return buffer_.prepare(room);
  }

  // A read ended: `n` bytes arrived, with `ec` (eof, an error, or none).
  Next onRead(beast::error_code ec, size_t n) {
    buffer_.commit(n);
    if (!ec) ec = parse();
    if (!ec) {
      if (parser_.is_header_done() &&
          (parser_.is_done() || parser_.body().size() >= kMaxOutputBytes))
        return Next::kSucceed;
      return Next::kRead;
    }
    if (!parser_.is_header_done()) {
      // As Beast's reads say it: nothing at all, or a header cut short.
      if (ec == asio::error::eof)
        ec = parser_.got_some() || buffer_.size() ? bhttp::error::partial_message
                                                  : bhttp::error::end_of_stream;
      error_ = ec;
      return Next::kFail;
    }
    // The body may end with the connection; what arrived is the output.
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) return Next::kSucceed;
    error_ = ec;
    return Next::kFail;
  }

  // The error of the last kFail.
  beast::error_code error() const { return error_; }

  ProbeResult succeeded() const {
    int code = parser_.code();
    const std::string& body = parser_.body();
    std::string out;
    out.reserve(p_.prefix.size() + 16 + parser_.reason().size() +
                (body.empty() ? 0 : 9 + body.size()));
    out += p_.prefix;
    char num[16];
    auto [end, _] = std::to_chars(num, num + sizeof num, code);
    out.append(num, end);
    out += ' ';
    out += parser_.reason();
    if (!body.empty()) {
      out += " Output: ";
      out += body;
    }
    capOutput(out);
    return {httpStatusOf(code), std::move(out)};
  }

  ProbeResult failed(beast::error_code ec, bool timedOut) const {
    std::string out = p_.prefix + (timedOut ? "timed out after " + formatDuration(p_.spec.timeout)
                                            : ec.message());
    capOutput(out);
    return {HealthStatus::kCritical, std::move(out)};
  }

 private:
  // Feeds what was read to the parser. need_more is not an error here.
  beast::error_code parse() {
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_.is_done()) {
      size_t used = parser_.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) return {};
      if (ec) return ec;
      if (used == 0) break;
    }
    return {};
  }

  static constexpr size_t kReadBytes = 4096;

  const PreparedHttp& p_;
  beast::flat_buffer buffer_{kMaxHeaderBytes + kReadBytes};
  ResponseParser parser_;
  beast::error_code error_;
};

// One HTTP(S) probe. Reads with the socket's (or TLS stream's) own
// async_read_some into one buffer and feeds Beast's parser directly: no
// composed read operations per read. The socket and timer are bound to the
// io_context's own executor (no type-erased executor per operation).
class HttpProbe : public std::enable_shared_from_this<HttpProbe> {
 public:
  HttpProbe(asio::io_context& ioc, std::shared_ptr<const PreparedHttp> p, ProbeClose close,
            ProbeDone done)
      : p_(std::move(p)),
        done_(std::move(done)),
        close_(close),
        socket_(ioc),
        timer_(ioc),
        answer_(*p_) {
    if (p_->tls) tls_.emplace(socket_, *p_->tls);
  }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(p_->spec.timeout);
    timer_.async_wait([self](beast::error_code ec) {
      if (ec) return;
      self->timedOut_ = true;
      if (self->resolver_) self->resolver_->cancel();
      closeConnection(self->socket_, self->close_);
    });
    connectTo(socket_, resolver_, p_->endpoint, p_->url->host, p_->url->port,
              [self = std::move(self)](beast::error_code ec) {
                if (ec) return self->fail(ec);
                if (self->tls_)
                  self->handshake();
                else
                  self->write();
              });
  }

 private:
  void handshake() {
    if (p_->sni) SSL_set_tlsext_host_name(tls_->native_handle(), p_->tlsName.c_str());
    if (!p_->spec.tlsSkipVerify)
      tls_->set_verify_callback(ssl::host_name_verification(p_->tlsName));
    auto self = shared_from_this();
    tls_->async_handshake(ssl::stream_base::client, [self](beast::error_code ec) {
      if (ec) return self->fail(ec);
      self->write();
    });
  }

  void write() {
    auto self = shared_from_this();
    auto onWrite = [self](beast::error_code ec, size_t) {
      if (ec) return self->fail(ec);
      self->read();
    };
    withStream(
        [&](auto& stream) { asio::async_write(stream, asio::buffer(p_->request), onWrite); });
  }

  // Calls f with the connection's stream: TLS over the socket, or the socket.
  template <typename F>
  void withStream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(socket_);
  }

  void read() {
    asio::mutable_buffer buf = answer_.prepare();
    if (buf.size() == 0) return fail(bhttp::error::buffer_overflow);
    auto self = shared_from_this();
    auto onRead = [self](beast::error_code ec, size_t n) {
      switch (self->answer_.onRead(ec, n)) {
        case HttpAnswer::Next::kRead:
          return self->read();
        case HttpAnswer::Next::kSucceed:
          return self->finish(self->answer_.succeeded());
        case HttpAnswer::Next::kFail:
          return self->fail(self->answer_.error());
      }
    };
    withStream([&](auto& stream) { stream.async_read_some(buf, onRead); });
  }

  void fail(beast::error_code ec) { finish(answer_.failed(ec, timedOut_)); }

  void finish(ProbeResult r) {
    if (!done_) return;
    timer_.cancel();
    closeConnection(socket_, close_);
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(r));
  }

  std::shared_ptr<const PreparedHttp> p_;
  ProbeDone done_;
  ProbeClose close_;
  std::optional<tcp::resolver> resolver_;  // only for a host name
  Socket socket_;
  std::optional<ssl::stream<Socket&>> tls_;
  Timer timer_;
  HttpAnswer answer_;
  bool timedOut_ = false;
};

// The same probe (plain HTTP to an IP literal) on the io_uring ring.
class RingHttpProbe final : public RingProbe {
 public:
  RingHttpProbe(std::shared_ptr<const PreparedHttp> p, ProbeDone done)
      : p_(std::move(p)), done_(std::move(done)), answer_(*p_) {}

  std::span<char> buffer() override {
    asio::mutable_buffer b = answer_.prepare();
    if (b.size() == 0) {  // nothing more fits: end with what the parser says of it
      full_ = true;
      b = asio::buffer(spare_);
    }
    return {static_cast<char*>(b.data()), b.size()};
  }

  ProbeDone takeDone() { return std::move(done_); }

  bool received(size_t n) override {
    if (full_) {
      next_ = HttpAnswer::Next::kFail;
      overflow_ = true;
      return false;
    }
    next_ = answer_.onRead({}, n);
    return next_ == HttpAnswer::Next::kRead;
  }

  void end(int err, bool eof) override {
    ProbeResult r;
    if (err)
      r = answer_.failed(beast::error_code(err, boost::system::system_category()),
                         err == ETIMEDOUT);
    else if (eof && next_ == HttpAnswer::Next::kRead)
      r = answer_.onRead(asio::error::eof, 0) == HttpAnswer::Next::kSucceed
              ? answer_.succeeded()
              : answer_.failed(answer_.error(), false);
    else if (next_ == HttpAnswer::Next::kSucceed)
      r = answer_.succeeded();
    else
      r = answer_.failed(
          overflow_ ? beast::error_code(bhttp::error::buffer_overflow) : answer_.error(), false);
    auto done = std::move(done_);
    done(std::move(r));
  }

 private:
  std::shared_ptr<const PreparedHttp> p_;
  ProbeDone done_;
  HttpAnswer answer_;
  HttpAnswer::Next next_ = HttpAnswer::Next::kRead;
  bool full_ = false;
  bool overflow_ = false;
  char spare_[1];
};

// A TCP check's probe, worked out once.
struct PreparedTcp final : Prepared {
  PreparedTcp() : Prepared(ProbeKind::kTcp) {}
  TcpProbeSpec spec;
  bool valid = false;  // spec.address is host:port
  std::string host, port;
  std::optional<tcp::endpoint> endpoint;  // when the host is an IP literal
  std::string prefix;                     // "TCP connect <address>: "
};

class TcpProbe : public std::enable_shared_from_this<TcpProbe> {
 public:
  TcpProbe(asio::io_context& ioc, std::shared_ptr<const PreparedTcp> p, ProbeClose close,
           ProbeDone done)
      : p_(std::move(p)), done_(std::move(done)), close_(close), socket_(ioc), timer_(ioc) {}

  void start() {
    if (!p_->valid) {  // completes later, never within start()
      asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->finish(HealthStatus::kCritical, self->p_->prefix + "not a host:port address");
      });
      return;
    }
    auto self = shared_from_this();
    timer_.expires_after(p_->spec.timeout);
    timer_.async_wait([self](beast::error_code ec) {
      if (ec) return;
      self->timedOut_ = true;
      if (self->resolver_) self->resolver_->cancel();
      closeConnection(self->socket_, self->close_);
    });
    connectTo(socket_, resolver_, p_->endpoint, p_->host, p_->port, [self](beast::error_code ec) {
      if (ec) return self->fail(ec);
      self->finish(HealthStatus::kPassing, self->p_->prefix + "Success");
    });
  }

 private:
  void fail(beast::error_code ec) {
    finish(HealthStatus::kCritical,
           p_->prefix +
               (timedOut_ ? "timed out after " + formatDuration(p_->spec.timeout) : ec.message()));
  }

  void finish(HealthStatus s, std::string out) {
    if (!done_) return;
    timer_.cancel();
    // FIN mode: a plain close (the FIN; nothing was read or written).
    if (close_ == ProbeClose::kReset) {
      closeConnection(socket_, close_);
    } else {
      beast::error_code ignored;
      socket_.close(ignored);
    }
    capOutput(out);
    auto done = std::move(done_);
    done_ = nullptr;
    done(ProbeResult{s, std::move(out)});
  }

  std::shared_ptr<const PreparedTcp> p_;
  ProbeDone done_;
  ProbeClose close_;
  std::optional<tcp::resolver> resolver_;  // only for a host name
  Socket socket_;
  Timer timer_;
  bool timedOut_ = false;
};

// A TCP probe (to an IP literal) on the io_uring ring.
class RingTcpProbe final : public RingProbe {
 public:
  RingTcpProbe(std::shared_ptr<const PreparedTcp> p, ProbeDone done)
      : p_(std::move(p)), done_(std::move(done)) {}

  ProbeDone takeDone() { return std::move(done_); }

  std::span<char> buffer() override { return {spare_, sizeof spare_}; }  // never read
  bool received(size_t) override { return false; }
  void end(int err, bool) override {
    std::string out = p_->prefix;
    if (!err)
      out += "Success";
    else if (err == ETIMEDOUT)
      out += "timed out after " + formatDuration(p_->spec.timeout);
    else
      out += beast::error_code(err, boost::system::system_category()).message();
    capOutput(out);
    auto done = std::move(done_);
    done({err ? HealthStatus::kCritical : HealthStatus::kPassing, std::move(out)});
  }

 private:
  std::shared_ptr<const PreparedTcp> p_;
  ProbeDone done_;
  char spare_[1];
};

// A child process: its stdout and stderr go to one pipe read here; at exit
// (or the timeout, which kills its process group) the status is taken with
// waitpid, polled, because the child may close the pipe before it exits.
class ScriptProbe : public std::enable_shared_from_this<ScriptProbe> {
 public:
  ScriptProbe(asio::io_context& ioc, ScriptProbeSpec spec, ProbeDone done)
      : spec_(std::move(spec)), done_(std::move(done)), pipe_(ioc), timer_(ioc), poll_(ioc) {}

  ~ScriptProbe() {
    if (pid_ > 0) {  // only if abandoned with the io_context: do not leave a zombie
      kill(-pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  void start() {
    if (spec_.args.empty()) return finish(HealthStatus::kCritical, "script check: no args");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      return finish(HealthStatus::kCritical, std::string("script check: pipe: ") + strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    // The agent blocks its termination signals in every thread; the child
    // must not inherit that mask.
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    std::vector<char*> argv;
    for (auto& a : spec_.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      return finish(HealthStatus::kCritical, "script check " + spec_.args[0] + ": " + strerror(rc));
    }
    pid_ = pid;
    pipe_.assign(fds[0]);
    auto self = shared_from_this();
    timer_.expires_after(spec_.timeout);
    timer_.async_wait([self](beast::error_code ec) {
      if (ec || self->pid_ <= 0) return;
      self->timedOut_ = true;
      kill(-self->pid_, SIGKILL);
    });
    read();
  }

 private:
  void read() {
    auto self = shared_from_this();
    pipe_.async_read_some(asio::buffer(chunk_), [self](beast::error_code ec, size_t n) {
      // Keep draining past the cap so the child never blocks on a full pipe.
      size_t room = kMaxOutputBytes - std::min(kMaxOutputBytes, self->output_.size());
      self->output_.append(self->chunk_.data(), std::min(n, room));
      if (ec) return self->reap();
      self->read();
    });
  }

  void reap() {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0) {
      auto self = shared_from_this();
      poll_.expires_after(std::chrono::milliseconds(10));
      poll_.async_wait([self](beast::error_code) { self->reap(); });
      return;
    }
    pid_ = 0;
    timer_.cancel();
    beast::error_code ignored;
    pipe_.close(ignored);
    if (timedOut_) {
      output_ += (output_.empty() ? "" : "\n");
      output_ += "Timed out (" + formatDuration(spec_.timeout) + ") running check";
      return finish(HealthStatus::kCritical, std::move(output_));
    }
    if (r < 0 || !WIFEXITED(status)) return finish(HealthStatus::kCritical, std::move(output_));
    int code = WEXITSTATUS(status);
    finish(code == 0   ? HealthStatus::kPassing
           : code == 1 ? HealthStatus::kWarning
                       : HealthStatus::kCritical,
           std::move(output_));
  }

  void finish(HealthStatus s, std::string out) {
    if (!done_) return;
    capOutput(out);
    auto done = std::move(done_);
    done_ = nullptr;
    done(ProbeResult{s, std::move(out)});
  }

  ScriptProbeSpec spec_;
  ProbeDone done_;
  asio::posix::stream_descriptor pipe_;
  asio::steady_timer timer_;
  asio::steady_timer poll_;
  std::array<char, 4096> chunk_{};
  std::string output_;
  pid_t pid_ = 0;
  bool timedOut_ = false;
};

// A script check's probe: nothing to work out; each run copies the args.
struct PreparedScript final : Prepared {
  explicit PreparedScript(ScriptProbeSpec s) : Prepared(ProbeKind::kScript), spec(std::move(s)) {}
  ScriptProbeSpec spec;
};

// A gRPC check keeps its spec; each run parses its target (grpc_probe.cpp).
struct PreparedGrpc final : Prepared {
  explicit PreparedGrpc(GrpcProbeSpec s) : Prepared(ProbeKind::kGrpc), spec(std::move(s)) {}
  GrpcProbeSpec spec;
};

// Lives on: the io_context given to create(). Holds the two client TLS
// contexts (verifying against the system store, and not verifying), built
// once and shared by every HTTPS and gRPC-over-TLS probe (ALPN is set per
// connection, so the contexts stay protocol-neutral).
class ProberImpl final : public Prober {
 public:
  ProberImpl(asio::io_context& ioc, ProberOptions opts, std::unique_ptr<ssl::context> verify,
             std::unique_ptr<ssl::context> noVerify)
      : ioc_(ioc), opts_(opts), verify_(std::move(verify)), noVerify_(std::move(noVerify)) {}

  PreparedProbePtr prepare(HttpProbeSpec spec) override {
    auto p = std::make_shared<PreparedHttp>();
    p->url = parseUrl(spec.url);
    if (!p->url) {
      p->prefix = "HTTP " + spec.method + " " + spec.url + ": ";
    } else {
      p->prefix = "HTTP " + (spec.method.empty() ? "GET" : spec.method) + " " + spec.url + ": ";
      p->endpoint = literalEndpoint(p->url->host, p->url->port);
      p->request = buildRequest(spec, *p->url);
      if (p->url->tls) {
        p->tls = spec.tlsSkipVerify ? noVerify_.get() : verify_.get();
        p->tlsName = spec.tlsServerName.empty() ? p->url->host : spec.tlsServerName;
        p->sni = !isIpLiteral(p->tlsName);
      }
    }
    p->spec = std::move(spec);
    return p;
  }

  PreparedProbePtr prepare(TcpProbeSpec spec) override {
    auto p = std::make_shared<PreparedTcp>();
    p->valid = splitHostPort(spec.address, p->host, p->port);
    if (p->valid) p->endpoint = literalEndpoint(p->host, p->port);
    p->prefix = "TCP connect " + spec.address + ": ";
    p->spec = std::move(spec);
    return p;
  }

  PreparedProbePtr prepare(ScriptProbeSpec spec) override {
    return std::make_shared<PreparedScript>(std::move(spec));
  }

  PreparedProbePtr prepare(GrpcProbeSpec spec) override {
    return std::make_shared<PreparedGrpc>(std::move(spec));
  }

  void run(const PreparedProbePtr& probe, ProbeDone done) override {
    switch (static_cast<const Prepared&>(*probe).kind) {
      case ProbeKind::kHttp: {
        auto h = std::static_pointer_cast<const PreparedHttp>(probe);
        if (!h->url) {
          std::string out = h->prefix + "not an http(s) URL";
          capOutput(out);
          asio::post(ioc_, [done = std::move(done), out = std::move(out)] {
            done({HealthStatus::kCritical, out});
          });
          return;
        }
        if (ringEligible() && !h->tls && h->endpoint) {
          onIoThread([this, h = std::move(h), done = std::move(done)]() mutable {
            const tcp::endpoint& ep = *h->endpoint;
            auto rp = std::make_shared<RingHttpProbe>(h, std::move(done));
            if (!startOnRing(ep, h->request, h->spec.timeout, rp))
              std::make_shared<HttpProbe>(ioc_, std::move(h), opts_.close, rp->takeDone())->start();
          });
          return;
        }
        auto p = std::make_shared<HttpProbe>(ioc_, std::move(h), opts_.close, std::move(done));
        startOnIoThread(std::move(p));
        return;
      }
      case ProbeKind::kTcp: {
        auto t = std::static_pointer_cast<const PreparedTcp>(probe);
        if (ringEligible() && t->endpoint) {
          onIoThread([this, t = std::move(t), done = std::move(done)]() mutable {
            const tcp::endpoint& ep = *t->endpoint;
            auto rp = std::make_shared<RingTcpProbe>(t, std::move(done));
            if (!startOnRing(ep, {}, t->spec.timeout, rp))
              std::make_shared<TcpProbe>(ioc_, std::move(t), opts_.close, rp->takeDone())->start();
          });
          return;
        }
        auto p = std::make_shared<TcpProbe>(ioc_, std::move(t), opts_.close, std::move(done));
        startOnIoThread(std::move(p));
        return;
      }
      case ProbeKind::kScript: {
        const auto& spec = static_cast<const PreparedScript&>(*probe).spec;
        auto p = std::make_shared<ScriptProbe>(ioc_, spec, std::move(done));
        asio::post(ioc_, [p] { p->start(); });
        return;
      }
      case ProbeKind::kGrpc: {
        GrpcProbeSpec spec = static_cast<const PreparedGrpc&>(*probe).spec;
        ssl::context* ctx =
            spec.useTls ? (spec.tlsSkipVerify ? noVerify_.get() : verify_.get()) : nullptr;
        startGrpcProbe(ioc_, ctx, std::move(spec), std::move(done));
        return;
      }
    }
  }

 private:
  // Starts a probe now when called on the io_context's thread (the checker
  // does), else posts the start there. A probe never completes inside
  // start() (Asio completes no handler inline), so `done` still never runs
  // within run().
  template <typename P>
  void startOnIoThread(std::shared_ptr<P> p) {
    onIoThread([p = std::move(p)] { p->start(); });
  }

  // Runs f now on the io_context's thread, else posts it there.
  template <typename F>
  void onIoThread(F&& f) {
    if (ioc_.get_executor().running_in_this_thread())
      f();
    else
      asio::post(ioc_, std::forward<F>(f));
  }

  bool ringEligible() const { return opts_.ioUring && !ringOff_.load(std::memory_order_relaxed); }

  // On the io thread. False: the ring is not available (or full); the
  // caller probes through an Asio socket.
  bool startOnRing(const tcp::endpoint& ep, std::string_view send,
                   std::chrono::milliseconds timeout, std::shared_ptr<RingProbe> probe) {
    if (!ring_) {
      if (ringOff_.load(std::memory_order_relaxed)) return false;
      std::string why;
      for (unsigned slots : {8192u, 1024u})
        if ((ring_ = ProbeRing::create(slots, &why))) break;
      if (!ring_) {
        ringOff_.store(true, std::memory_order_relaxed);
        log::get("health")->warn(
            "health checks: io_uring not available ({}); probing through epoll", why);
        return false;
      }
      ringThread_ = std::this_thread::get_id();
    }
    if (std::this_thread::get_id() != ringThread_) return false;  // another thread runs ioc_
    bool reset = opts_.close == ProbeClose::kReset;
    if (reset && !ring_->resetWorks()) return false;
    RingStart start;
    start.address = ep.data();
    start.addressLength = static_cast<unsigned>(ep.size());
    start.send = send;
    start.reset = reset;
    start.deadline = std::chrono::steady_clock::now() + timeout;
    if (!ring_->start(start, std::move(probe))) return false;
    ringProbes_.fetch_add(1, std::memory_order_relaxed);
    if (!flushPosted_) {  // submitted once the caller's batch of starts is queued
      flushPosted_ = true;
      asio::post(ioc_, [this] {
        flushPosted_ = false;
        pollRing(false);
      });
    }
    return true;
  }

  // Submits and completes what the ring has; while probes are in flight,
  // comes back at the next multiple of ringPoll on the steady clock (the
  // checker's run timer keeps the same grid, so both wake together).
  // fromTimer: the periodic poll, which always enters the kernel once; the
  // flush after a batch of starts enters only if the batch is still queued
  // (the periodic poll may have run first in the same wake-up).
  void pollRing(bool fromTimer) {
    ring_->poll(fromTimer);
    if (ring_->idle() || ringTimerArmed_) return;
    ringTimerArmed_ = true;
    auto step = std::chrono::duration_cast<std::chrono::steady_clock::duration>(opts_.ringPoll);
    auto now = std::chrono::steady_clock::now().time_since_epoch();
    std::chrono::steady_clock::time_point at((now / step + 1) * step);
    // The timer belongs to its handler, so that it goes with the io_context
    // if the io_context goes first.
    auto timer = std::make_shared<Timer>(ioc_, at);
    timer->async_wait([this, timer](beast::error_code ec) {
      if (ec) return;
      ringTimerArmed_ = false;
      pollRing(true);
    });
  }

  uint64_t ioUringProbes() const override { return ringProbes_.load(std::memory_order_relaxed); }

  asio::io_context& ioc_;
  ProberOptions opts_;
  std::unique_ptr<ssl::context> verify_;
  std::unique_ptr<ssl::context> noVerify_;
  // Plain HTTP and TCP probes to IP literals, when opts_.ioUring; made on
  // the first such probe, on the io thread (the only thread that may use it).
  std::unique_ptr<ProbeRing> ring_;
  std::atomic<bool> ringOff_{false};  // could not be made (logged); read by run()
  std::thread::id ringThread_;
  bool flushPosted_ = false;
  bool ringTimerArmed_ = false;
  std::atomic<uint64_t> ringProbes_{0};
};

}  // namespace

HealthStatus httpStatusOf(int code) {
  if (code >= 200 && code < 300) return HealthStatus::kPassing;
  if (code == 429) return HealthStatus::kWarning;
  return HealthStatus::kCritical;
}

std::optional<ProbeClose> parseProbeClose(std::string_view s) {
  if (s == "fin") return ProbeClose::kFin;
  if (s == "reset") return ProbeClose::kReset;
  return std::nullopt;
}

Result<std::unique_ptr<Prober>> Prober::create(asio::io_context& ioc, ProberOptions opts) {
  auto verify = std::make_unique<ssl::context>(ssl::context::tls_client);
  auto noVerify = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  verify->set_default_verify_paths(ec);
  if (ec) return ioError("health checks: cannot load the system's CA store: " + ec.message());
  verify->set_verify_mode(ssl::verify_peer);
  noVerify->set_verify_mode(ssl::verify_none);
  for (auto* c : {verify.get(), noVerify.get()})
    SSL_CTX_set_min_proto_version(c->native_handle(), TLS1_2_VERSION);
  return std::unique_ptr<Prober>(
      std::make_unique<ProberImpl>(ioc, opts, std::move(verify), std::move(noVerify)));
}

}  // namespace cairn::health
