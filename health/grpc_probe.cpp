// One gRPC health call per probe, on a connection of its own (as Consul's
// grpc-go client with a fresh dial does): resolve, connect, TLS (ALPN "h2"),
// then an nghttp2 client session. nghttp2 does no I/O here: bytes read from
// the socket go to nghttp2_session_mem_recv, and whatever it wants to send
// (the connection preface, SETTINGS, the request, ACKs, WINDOW_UPDATEs) is
// taken with nghttp2_session_mem_send and written, one write at a time.
//
// As the other probes: the object is kept alive by its pending handlers, a
// deadline timer closes the socket at the timeout (failing whatever is
// pending), and the first finish() wins. nghttp2 callbacks only record what
// arrived; decisions are taken after mem_recv returns, never inside it.
#include "health/grpc_probe.hpp"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <memory>
#include <optional>

#include "common/duration.hpp"
#include "health/address.hpp"
#include "health/grpc_health.hpp"
#include "health/tls_client.hpp"

namespace cairn::health {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using registry::HealthStatus;

// Response headers and trailers together; a health reply needs a few dozen
// bytes.
constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kMaxGrpcMessageBytes = 1024;

nghttp2_nv header(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values while serializing (no NO_COPY flags), and
  // the strings outlive nghttp2_submit_request's use of them.
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// grpc-timeout: at most 8 digits and a unit (gRPC over HTTP/2, "Requests").
std::string grpcTimeout(std::chrono::milliseconds t) {
  int64_t ms = std::max<int64_t>(t.count(), 1);
  if (ms <= 99'999'999) return std::to_string(ms) + "m";
  return std::to_string(std::min<int64_t>(ms / 1000, 99'999'999)) + "S";
}

class GrpcProbe : public std::enable_shared_from_this<GrpcProbe> {
 public:
  GrpcProbe(asio::io_context& ioc, ssl::context* tlsCtx, GrpcProbeSpec spec, grpc::Target target,
            ProbeDone done)
      : spec_(std::move(spec)),
        target_(std::move(target)),
        done_(std::move(done)),
        prefix_("gRPC check " + spec_.target + ": "),
        resolver_(ioc),
        socket_(ioc),
        timer_(ioc),
        session_(nullptr, &nghttp2_session_del) {
    if (tlsCtx) tls_.emplace(socket_, *tlsCtx);
  }

  void start() {
    auto self = shared_from_this();
    timer_.expires_after(spec_.timeout);
    timer_.async_wait([self](error_code ec) {
      if (ec) return;
      self->timedOut_ = true;
      self->resolver_.cancel();
      error_code ignored;
      self->socket_.close(ignored);
    });
    resolver_.async_resolve(target_.host, target_.port,
                            [self](error_code ec, const tcp::resolver::results_type& r) {
                              if (ec) return self->fail(ec);
                              self->connect(r);
                            });
  }

 private:
  void connect(const tcp::resolver::results_type& r) {
    auto self = shared_from_this();
    asio::async_connect(socket_, r, [self](error_code ec, const tcp::endpoint&) {
      if (ec) return self->fail(ec);
      if (self->tls_)
        self->handshake();
      else
        self->startSession();
    });
  }

  void handshake() {
    prepareTlsClient(*tls_, spec_.tlsServerName.empty() ? target_.host : spec_.tlsServerName,
                     spec_.tlsSkipVerify);
    static constexpr unsigned char kAlpn[] = {2, 'h', '2'};
    SSL_set_alpn_protos(tls_->native_handle(), kAlpn, sizeof(kAlpn));
    auto self = shared_from_this();
    tls_->async_handshake(ssl::stream_base::client, [self](error_code ec) {
      if (ec && !self->timedOut_) return self->failWith("TLS handshake: " + ec.message());
      if (ec) return self->fail(ec);
      const unsigned char* proto = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(self->tls_->native_handle(), &proto, &len);
      // No ALPN answer: the server may still speak HTTP/2 (some TLS
      // terminators do not negotiate); anything but h2 means it will not.
      if (len != 0 && std::string_view(reinterpret_cast<const char*>(proto), len) != "h2")
        return self->failWith("the server chose " +
                              std::string(reinterpret_cast<const char*>(proto), len) +
                              " over TLS, not HTTP/2 (ALPN h2)");
      self->startSession();
    });
  }

  void startSession() {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return failWith("out of memory");
    nghttp2_session_callbacks_set_on_header_callback(cbs, &GrpcProbe::onHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &GrpcProbe::onData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &GrpcProbe::onStreamClose);
    nghttp2_session_callbacks_set_error_callback2(cbs, &GrpcProbe::onError);
    nghttp2_session* s = nullptr;
    int rv = nghttp2_session_client_new(&s, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return failWith(std::string("HTTP/2: ") + nghttp2_strerror(rv));
    session_.reset(s);

    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(kMaxHeaderBytes)}};
    rv = nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    if (rv != 0) return failWith(std::string("HTTP/2: ") + nghttp2_strerror(rv));

    request_ = grpc::encodeRequest(target_.service);
    const std::string scheme = tls_ ? "https" : "http";
    const std::string authority = joinHostPort(target_.host, target_.port);
    const std::string timeout = grpcTimeout(spec_.timeout);
    const nghttp2_nv nva[] = {header(":method", "POST"),
                              header(":scheme", scheme),
                              header(":path", grpc::kCheckPath),
                              header(":authority", authority),
                              header("content-type", "application/grpc"),
                              header("te", "trailers"),
                              header("grpc-timeout", timeout),
                              header("user-agent", "Cairn Health Check")};
    nghttp2_data_provider body;
    body.source.ptr = this;
    body.read_callback = &GrpcProbe::readRequest;
    streamId_ = nghttp2_submit_request(s, nullptr, nva, std::size(nva), &body, nullptr);
    if (streamId_ < 0) return failWith(std::string("HTTP/2: ") + nghttp2_strerror(streamId_));
    flush();
    read();
  }

  // Writes what nghttp2 has queued, unless a write is already in flight (its
  // completion calls flush again).
  void flush() {
    if (!done_ || writing_) return;
    out_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) return failWith(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(n)));
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      if (out_.size() >= 64 * 1024) break;
    }
    if (out_.empty()) return;
    writing_ = true;
    auto self = shared_from_this();
    auto onWrite = [self](error_code ec, size_t) {
      self->writing_ = false;
      if (!self->done_) return;
      if (ec) return self->fail(ec);
      self->flush();
    };
    if (tls_)
      asio::async_write(*tls_, asio::buffer(out_), onWrite);
    else
      asio::async_write(socket_, asio::buffer(out_), onWrite);
  }

  void read() {
    auto self = shared_from_this();
    auto onRead = [self](error_code ec, size_t n) {
      if (!self->done_) return;
      if (ec) return self->fail(ec);
      self->received_ += n;
      ssize_t rv = nghttp2_session_mem_recv(self->session_.get(), self->in_.data(), n);
      if (!self->callbackError_.empty()) return self->failWith(self->callbackError_);
      if (rv < 0)
        return self->failWith(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
      if (self->streamClosed_) return self->complete();
      self->flush();
      // A protocol error (or the server's GOAWAY) ends the session: nghttp2
      // queues its GOAWAY, sent by the flush above, and wants nothing more.
      if (!nghttp2_session_want_read(self->session_.get()) &&
          !nghttp2_session_want_write(self->session_.get()))
        return self->failWith(self->protocolError_.empty()
                                  ? "the server ended the HTTP/2 session before the response"
                                  : "HTTP/2: " + self->protocolError_);
      self->read();
    };
    if (tls_)
      tls_->async_read_some(asio::buffer(in_), onRead);
    else
      socket_.async_read_some(asio::buffer(in_), onRead);
  }

  static ssize_t readRequest(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                             uint32_t* flags, nghttp2_data_source*, void* user) {
    auto* p = static_cast<GrpcProbe*>(user);
    size_t n = std::min(length, p->request_.size() - p->requestSent_);
    std::memcpy(buf, p->request_.data() + p->requestSent_, n);
    p->requestSent_ += n;
    if (p->requestSent_ == p->request_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // Headers and trailers of the call's stream; the few that matter are kept.
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t nameLen, const uint8_t* value, size_t valueLen, uint8_t, void* user) {
    auto* p = static_cast<GrpcProbe*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != p->streamId_) return 0;
    p->headerBytes_ += nameLen + valueLen;
    if (p->headerBytes_ > kMaxHeaderBytes) {
      p->callbackError_ =
          "response headers larger than " + std::to_string(kMaxHeaderBytes) + " bytes";
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    std::string_view n(reinterpret_cast<const char*>(name), nameLen);
    std::string_view v(reinterpret_cast<const char*>(value), valueLen);
    grpc::Reply& r = p->reply_;
    if (n == ":status") {
      int code = 0;
      for (char c : v) code = (c >= '0' && c <= '9' && code < 1000) ? code * 10 + (c - '0') : 1000;
      r.httpStatus = code;
    } else if (n == "content-type") {
      r.contentType = std::string(v);
    } else if (n == "grpc-status") {
      r.grpcStatus = std::string(v);
    } else if (n == "grpc-message") {
      r.grpcMessage = std::string(v.substr(0, kMaxGrpcMessageBytes));
    }
    return 0;
  }

  static int onData(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t len,
                    void* user) {
    auto* p = static_cast<GrpcProbe*>(user);
    if (stream != p->streamId_) return 0;
    if (p->reply_.body.size() + len > grpc::kMaxResponseBytes) {
      p->callbackError_ =
          "response larger than " + std::to_string(grpc::kMaxResponseBytes) + " bytes";
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    p->reply_.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int onStreamClose(nghttp2_session*, int32_t stream, uint32_t errorCode, void* user) {
    auto* p = static_cast<GrpcProbe*>(user);
    if (stream != p->streamId_) return 0;
    p->streamClosed_ = true;
    p->reply_.resetCode = errorCode;
    return 0;
  }

  // nghttp2's description of a protocol error it found (it then ends the
  // session itself); the first one is the cause.
  static int onError(nghttp2_session*, int, const char* msg, size_t len, void* user) {
    auto* p = static_cast<GrpcProbe*>(user);
    if (p->protocolError_.empty()) p->protocolError_.assign(msg, std::min<size_t>(len, 512));
    return 0;
  }

  void complete() {
    ProbeResult r = grpc::verdict(spec_.target, reply_);
    finish(r.status, std::move(r.output));
  }

  void fail(error_code ec) {
    if (timedOut_) return failWith("timed out after " + formatDuration(spec_.timeout));
    if (!protocolError_.empty()) return failWith("HTTP/2: " + protocolError_);
    bool closed = ec == asio::error::eof || ec == ssl::error::stream_truncated;
    if (closed && received_ == 0 && !tls_)
      return failWith(
          "the server closed the connection without speaking HTTP/2 (does it want TLS? see "
          "GRPCUseTLS)");
    if (closed) return failWith("the server closed the connection before the response");
    failWith(ec.message());
  }

  void failWith(const std::string& why) { finish(HealthStatus::kCritical, prefix_ + why); }

  void finish(HealthStatus s, std::string out) {
    if (!done_) return;
    timer_.cancel();
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    if (out.size() > kMaxOutputBytes) out.resize(kMaxOutputBytes);
    auto done = std::move(done_);
    done_ = nullptr;
    done(ProbeResult{s, std::move(out)});
  }

  GrpcProbeSpec spec_;
  grpc::Target target_;
  ProbeDone done_;
  std::string prefix_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket&>> tls_;
  asio::steady_timer timer_;
  std::unique_ptr<nghttp2_session, decltype(&nghttp2_session_del)> session_;
  std::string request_;
  size_t requestSent_ = 0;
  int32_t streamId_ = -1;
  std::string out_;
  bool writing_ = false;
  std::array<uint8_t, 16 * 1024> in_{};
  grpc::Reply reply_;
  size_t headerBytes_ = 0;
  std::string callbackError_;
  std::string protocolError_;
  size_t received_ = 0;  // bytes read from the server
  bool streamClosed_ = false;
  bool timedOut_ = false;
};

}  // namespace

void startGrpcProbe(asio::io_context& ioc, ssl::context* tls, GrpcProbeSpec spec, ProbeDone done) {
  auto target = grpc::parseTarget(spec.target);
  if (!target) {
    std::string out = "gRPC check " + spec.target + ": not a host:port or host:port/service target";
    if (out.size() > kMaxOutputBytes) out.resize(kMaxOutputBytes);
    asio::post(ioc, [done = std::move(done), out = std::move(out)] {
      done({HealthStatus::kCritical, out});
    });
    return;
  }
  auto p =
      std::make_shared<GrpcProbe>(ioc, tls, std::move(spec), std::move(*target), std::move(done));
  asio::post(ioc, [p] { p->start(); });
}

}  // namespace cairn::health
