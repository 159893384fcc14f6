// The Beast implementation of Transport. Synchronous to its caller, but built
// from async operations on a private io_context, because Beast's timeouts
// (tcp_stream::expires_after) only apply to async operations. Plain TCP or
// TLS (an ssl_stream over the same tcp_stream) for an https endpoint.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <charconv>
#include <optional>

#include "client/tls_client.hpp"
#include "client/transport.hpp"
#include "common/duration.hpp"

namespace cairn::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kUserAgent = "cairn-client/0.1";
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

using HttpRequest = http::request<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The first byte of a TLS record: what a TLS server's alert starts with when
// it reads a plain HTTP request.
constexpr unsigned char kTlsAlertRecord = 0x15;
constexpr unsigned char kTlsHandshakeRecord = 0x16;

// How one request/response exchange on an open connection ended.
struct Exchange {
  beast::error_code ec;
  bool gotSome = false;  // at least one byte of the response arrived
  std::optional<http::response<http::string_body>> response;
};

// The errors a server's close of an idle keep-alive connection shows up as.
bool isClosedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}

bool isHttpProtocolError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_version).category();
}

std::uint64_t parseIndex(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  return value;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(Endpoint endpoint, HttpTransportOptions options)
      : endpoint_(std::move(endpoint)), options_(std::move(options)), resolver_(ioc_) {
    CAIRN_CHECK(!endpoint_.tls || options_.tls != nullptr, "an https endpoint needs a TLS context");
  }

  // The flag stays set until a request has failed because of it, so a cancel
  // that lands between two operations (or two requests) is not lost: each
  // operation checks it before it starts, and the posted handler aborts the
  // one in flight.
  void cancel() override {
    cancelled_ = true;
    asio::post(ioc_, [this] {
      if (cancelled_ && connected()) tcp().cancel();
    });
  }

  Result<Response> roundTrip(const client::Request& request) override {
    std::string_view method = request.method;
    std::string_view target = request.target;
    http::verb verb = http::string_to_verb(method);
    if (verb == http::verb::unknown) {
      return invalidArgument("unknown HTTP method \"" + std::string(method) + "\"");
    }
    if (target.empty() || target.front() != '/' ||
        target.find_first_of(" \t\r\n") != std::string_view::npos) {
      return invalidArgument("bad request target \"" + std::string(target) + "\"");
    }
    HttpRequest req{verb, target, 11};
    req.set(http::field::host, endpoint_.display);
    req.set(http::field::user_agent, kUserAgent);
    if (!options_.token.empty()) req.set("X-Consul-Token", options_.token);
    if (!request.body.empty()) req.set(http::field::content_type, request.contentType);
    req.body() = std::string(request.body);
    req.prepare_payload();

    if (cancelled_.exchange(false)) return cancelledError(method, target);
    bool reused = connected();
    if (!reused) {
      if (Status st = connect(); !st) {
        if (cancelled_.exchange(false)) return cancelledError(method, target);
        return st.error();
      }
    }
    auto timeout = request.timeout.count() > 0 ? request.timeout : options_.requestTimeout;
    Exchange ex = exchange(req, timeout);
    if (ex.ec && reused && !ex.gotSome && isClosedByPeer(ex.ec)) {
      // The server closed the idle connection before it saw the request.
      close();
      if (Status st = connect(); !st) return st.error();
      ex = exchange(req, timeout);
    }
    if (ex.ec) {
      close();
      if (cancelled_.exchange(false)) return cancelledError(method, target);
      return describeFailure(ex, method, target, timeout, reused);
    }
    http::response<http::string_body>& res = *ex.response;
    if (!res.keep_alive()) close();
    Response out;
    out.status = res.result_int();
    out.index = parseIndex(res["X-Consul-Index"]);
    out.body = std::move(res.body());
    return out;
  }

 private:
  // Runs the io_context until the operation just started has completed.
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  bool connected() const { return plain_.has_value() || tls_.has_value(); }
  // The TCP layer of the open connection.
  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  // Calls f with the stream HTTP is read from and written to.
  template <typename F>
  void withStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  // Closes without a TLS close_notify: the server gets EOF, as for plain TCP.
  void close() {
    if (!connected()) return;
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
    plain_.reset();
    tls_.reset();
  }

  Status connect() {
    buffer_.clear();
    beast::error_code ec;
    tcp::resolver::results_type endpoints;
    resolver_.async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                            tcp::resolver::numeric_service,
                            [&](beast::error_code e, tcp::resolver::results_type r) {
                              ec = e;
                              endpoints = std::move(r);
                            });
    run();
    if (ec) {
      return unavailable(unreachable() + "cannot resolve \"" + endpoint_.host +
                         "\": " + ec.message());
    }
    if (endpoint_.tls) {
      tls_.emplace(ioc_, options_.tls->ctx);
    } else {
      plain_.emplace(ioc_);
    }
    tcp().expires_after(options_.connectTimeout);
    tcp().async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) {
      plain_.reset();
      tls_.reset();
      if (ec == beast::error::timeout) {
        return unavailable(unreachable() + "connection timed out after " +
                           formatDuration(options_.connectTimeout));
      }
      return unavailable(unreachable() + ec.message());
    }
    tcp().socket().set_option(tcp::no_delay(true), ec);
    if (tls_) return handshake();
    return {};
  }

  // The TLS handshake, within the connect timeout.
  Status handshake() {
    if (Status st = prepareTlsConnection(tls_->native_handle(), *options_.tls, endpoint_.host);
        !st) {
      close();
      return st;
    }
    beast::error_code ec;
    tcp().expires_after(options_.connectTimeout);
    tls_->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    run();
    if (!ec) return {};
    std::string why =
        ec == beast::error::timeout
            ? "no answer within " + formatDuration(options_.connectTimeout) +
                  " (is it serving plain HTTP? then use an http:// address)"
            : describeTlsFailure(ec, tls_->native_handle(), *options_.tls, endpoint_.host);
    close();
    return unavailable("TLS handshake with cairn at " + endpoint_.display + " failed: " + why);
  }

  Exchange exchange(HttpRequest& req, std::chrono::milliseconds timeout) {
    Exchange ex;
    if (cancelled_) {
      ex.ec = asio::error::operation_aborted;
      return ex;
    }
    tcp().expires_after(timeout);
    withStream([&](auto& stream) {
      http::async_write(stream, req, [&](beast::error_code e, std::size_t) { ex.ec = e; });
    });
    run();
    if (ex.ec) return ex;
    if (cancelled_) {
      ex.ec = asio::error::operation_aborted;
      return ex;
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(options_.maxResponseBytes);
    if (req.method() == http::verb::head) parser.skip(true);
    withStream([&](auto& stream) {
      http::async_read(stream, buffer_, parser,
                       [&](beast::error_code e, std::size_t) { ex.ec = e; });
    });
    run();
    ex.gotSome = parser.got_some();
    if (!ex.ec) ex.response = parser.release();
    return ex;
  }

  Error cancelledError(std::string_view method, std::string_view target) const {
    return unavailable(std::string(method) + " " + std::string(target) + " to cairn at " +
                       endpoint_.display + " was cancelled");
  }

  std::string unreachable() const { return "cannot reach cairn at " + endpoint_.display + ": "; }

  // The start of what a plain connection received: a TLS record means the
  // server speaks TLS.
  bool receivedTls() const {
    if (endpoint_.tls || buffer_.size() == 0) return false;
    auto first = *static_cast<const unsigned char*>(buffer_.data().data());
    return first == kTlsAlertRecord || first == kTlsHandshakeRecord;
  }

  Error describeFailure(const Exchange& ex, std::string_view method, std::string_view target,
                        std::chrono::milliseconds timeout, bool reused) {
    const beast::error_code& ec = ex.ec;
    std::string what = std::string(method) + " " + std::string(target);
    if (receivedTls()) {
      return unavailable("cairn at " + endpoint_.display + " answered " + what +
                         " with TLS: it serves HTTPS there, use an https:// address");
    }
    if (endpoint_.tls && isTlsError(ec)) {
      return unavailable("cairn at " + endpoint_.display + " refused " + what + " over TLS: " +
                         describeTlsFailure(ec, nullptr, *options_.tls, endpoint_.host));
    }
    if (!endpoint_.tls && !reused && !ex.gotSome && isClosedByPeer(ec)) {
      return unavailable("cairn at " + endpoint_.display + " closed the connection without " +
                         "answering " + what + " (" + ec.message() +
                         "; if it serves HTTPS there, use an https:// address)");
    }
    if (ec == beast::error::timeout) {
      return unavailable("cairn at " + endpoint_.display + " did not answer " + what + " within " +
                         formatDuration(timeout));
    }
    if (ec == http::error::body_limit) {
      return ioError("response of cairn at " + endpoint_.display + " to " + what +
                     " is larger than " + std::to_string(options_.maxResponseBytes) + " bytes");
    }
    if (isHttpProtocolError(ec)) {
      return ioError("cairn at " + endpoint_.display + " sent a malformed response to " + what +
                     ": " + ec.message());
    }
    return unavailable("lost connection to cairn at " + endpoint_.display + " during " + what +
                       ": " + ec.message());
  }

  Endpoint endpoint_;
  HttpTransportOptions options_;
  asio::io_context ioc_{1};
  tcp::resolver resolver_;
  // At most one is open: not connected when both are empty.
  std::optional<beast::tcp_stream> plain_;
  std::optional<TlsStream> tls_;
  beast::flat_buffer buffer_;
  std::atomic<bool> cancelled_{false};  // set by cancel(), from any thread
};

}  // namespace

std::unique_ptr<Transport> makeHttpTransport(Endpoint endpoint, HttpTransportOptions options) {
  return std::make_unique<HttpTransport>(std::move(endpoint), std::move(options));
}

}  // namespace cairn::client
