// The Beast implementation of Transport. Synchronous to its caller, but built
// from async operations on a private io_context, because Beast's timeouts
// (tcp_stream::expires_after) only apply to async operations.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>

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

// How one request/response exchange on an open connection ended.
struct Exchange {
  beast::error_code ec;
  bool gotSome = false;  // at least one byte of the response arrived
  std::optional<http::response<http::string_body>> response;
};

// The errors a server's close of an idle keep-alive connection shows up as.
bool isClosedByPeer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
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
      : endpoint_(std::move(endpoint)), options_(options), resolver_(ioc_) {}

  // The flag stays set until a request has failed because of it, so a cancel
  // that lands between two operations (or two requests) is not lost: each
  // operation checks it before it starts, and the posted handler aborts the
  // one in flight.
  void cancel() override {
    cancelled_ = true;
    asio::post(ioc_, [this] {
      if (cancelled_ && stream_) stream_->cancel();
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
    bool reused = stream_.has_value();
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
      return describeFailure(ex.ec, method, target, timeout);
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

  void close() {
    if (!stream_) return;
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->close();
    stream_.reset();
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
    stream_.emplace(ioc_);
    stream_->expires_after(options_.connectTimeout);
    stream_->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) {
      stream_.reset();
      if (ec == beast::error::timeout) {
        return unavailable(unreachable() + "connection timed out after " +
                           formatDuration(options_.connectTimeout));
      }
      return unavailable(unreachable() + ec.message());
    }
    stream_->socket().set_option(tcp::no_delay(true), ec);
    return {};
  }

  Exchange exchange(HttpRequest& req, std::chrono::milliseconds timeout) {
    Exchange ex;
    if (cancelled_) {
      ex.ec = asio::error::operation_aborted;
      return ex;
    }
    stream_->expires_after(timeout);
    http::async_write(*stream_, req, [&](beast::error_code e, std::size_t) { ex.ec = e; });
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
    http::async_read(*stream_, buffer_, parser,
                     [&](beast::error_code e, std::size_t) { ex.ec = e; });
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

  Error describeFailure(const beast::error_code& ec, std::string_view method,
                        std::string_view target, std::chrono::milliseconds timeout) const {
    std::string what = std::string(method) + " " + std::string(target);
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
  std::optional<beast::tcp_stream> stream_;  // empty: not connected
  beast::flat_buffer buffer_;
  std::atomic<bool> cancelled_{false};  // set by cancel(), from any thread
};

}  // namespace

std::unique_ptr<Transport> makeHttpTransport(Endpoint endpoint, HttpTransportOptions options) {
  return std::make_unique<HttpTransport>(std::move(endpoint), options);
}

}  // namespace cairn::client
