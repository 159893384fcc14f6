#include "proxy/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <unordered_map>

namespace cairn::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

void TlsStream::SslFree::operator()(SSL* s) const {
  SSL_free(s);
}

TlsStream::TlsStream(asio::ip::tcp::socket socket, asio::ssl::context& ctx)
    : socket_(std::move(socket)), ssl_(SSL_new(ctx.native_handle())) {
  if (!ssl_) throw std::bad_alloc();
  // Partial writes: a write completes with what went out, like a socket's;
  // a retry after WANT_WRITE may come from the same buffer at any address.
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  error_code ec;
  socket_.non_blocking(true, ec);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new_socket(static_cast<int>(socket_.native_handle()), BIO_NOCLOSE);
  if (!in || !out) {
    BIO_free(in);
    BIO_free(out);
    throw std::bad_alloc();
  }
  BIO_set_mem_eof_return(in, -1);  // empty: "retry", until feed(0)
  SSL_set_bio(ssl_.get(), in, out);
}

void TlsStream::feed(std::size_t n) {
  BIO* in = SSL_get_rbio(ssl_.get());
  if (n == 0) {
    BIO_set_mem_eof_return(in, 0);
    return;
  }
  BIO_write(in, input_.get(), static_cast<int>(n));
}

TlsStream::~TlsStream() = default;

namespace {

// The client side's tickets: the last one per peer address, per context.
class ClientSessions {
 public:
  ~ClientSessions() {
    for (auto& [key, s] : byPeer_) SSL_SESSION_free(s);
  }
  SSL_SESSION* find(const std::string& peer) const {
    auto it = byPeer_.find(peer);
    return it == byPeer_.end() ? nullptr : it->second;
  }
  void put(const std::string& peer, SSL_SESSION* s) {
    if (byPeer_.size() >= kMaxPeers && !byPeer_.count(peer)) clear();
    SSL_SESSION*& slot = byPeer_[peer];
    if (slot) SSL_SESSION_free(slot);
    slot = s;
  }

 private:
  static constexpr std::size_t kMaxPeers = 4096;
  void clear() {
    for (auto& [key, s] : byPeer_) SSL_SESSION_free(s);
    byPeer_.clear();
  }
  std::unordered_map<std::string, SSL_SESSION*> byPeer_;
};

void freeSessions(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ClientSessions*>(ptr);
}
void freePeerKey(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}
int sessionsIndex() {
  static const int i = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &freeSessions);
  return i;
}
int peerKeyIndex() {
  static const int i = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &freePeerKey);
  return i;
}

// A ticket arrived (TLS 1.3 sends them after the handshake): keep it for
// the next connection to the same peer. Returning 1 takes the reference.
int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* sessions =
      static_cast<ClientSessions*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), sessionsIndex()));
  auto* peer = static_cast<std::string*>(SSL_get_ex_data(ssl, peerKeyIndex()));
  if (!sessions || !peer || !SSL_SESSION_is_resumable(session)) return 0;
  sessions->put(*peer, session);
  return 1;
}

}  // namespace

void enableResumption(asio::ssl::context& context, std::chrono::seconds lifetime) {
  SSL_CTX* ctx = context.native_handle();
  static const unsigned char kContext[] = "cairn-proxy";
  SSL_CTX_set_session_id_context(ctx, kContext, sizeof(kContext) - 1);
  SSL_CTX_set_timeout(ctx, static_cast<long>(lifetime.count()));
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &onNewSession);
  SSL_CTX_set_ex_data(ctx, sessionsIndex(), new ClientSessions);
  // One ticket per connection (OpenSSL sends two by default): a client keeps
  // only the last one per peer, and each costs the server a sealed session
  // and the client a parsed one.
  SSL_CTX_set_num_tickets(ctx, 1);
}

void disableResumption(asio::ssl::context& context) {
  SSL_CTX* ctx = context.native_handle();
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

void TlsStream::offerSession() {
  auto* sessions = static_cast<ClientSessions*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl_.get()), sessionsIndex()));
  if (!sessions) return;
  error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (ec) return;
  auto key =
      std::make_unique<std::string>(peer.address().to_string() + " " + std::to_string(peer.port()));
  if (SSL_SESSION* s = sessions->find(*key)) SSL_set_session(ssl_.get(), s);
  if (SSL_set_ex_data(ssl_.get(), peerKeyIndex(), key.get()) == 1) key.release();
}

namespace {
// SSL_get_error reads the thread's error queue, so it must hold nothing from
// earlier calls; peeking first is much cheaper than clearing every slot.
void clearErrors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}
}  // namespace

// Maps an SSL call's result to what to do next. The error queue is cleared
// before every call (SSL_get_error reads it), so what is there is ours.
TlsStream::Step TlsStream::classify(int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  switch (err) {
    case SSL_ERROR_NONE:
      return {};
    case SSL_ERROR_WANT_READ:
      return {Want::kRead, {}};
    case SSL_ERROR_WANT_WRITE:
      return {Want::kWrite, {}};
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
      return {Want::kDone, asio::error::eof};
    case SSL_ERROR_SYSCALL: {
      unsigned long e = ERR_get_error();
      ERR_clear_error();
      if (e != 0)
        return {Want::kDone, error_code(static_cast<int>(e), asio::error::get_ssl_category())};
      if (errno != 0) return {Want::kDone, error_code(errno, asio::error::get_system_category())};
      return {Want::kDone, asio::ssl::error::stream_truncated};
    }
    default: {
      unsigned long e = ERR_get_error();
      ERR_clear_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return {Want::kDone, asio::ssl::error::stream_truncated};
      if (e == 0) return {Want::kDone, asio::error::connection_reset};
      return {Want::kDone, error_code(static_cast<int>(e), asio::error::get_ssl_category())};
    }
  }
}

TlsStream::Step TlsStream::handshakeStep(handshake_type type) {
  clearErrors();
  errno = 0;
  int r = type == asio::ssl::stream_base::client ? SSL_connect(ssl_.get()) : SSL_accept(ssl_.get());
  return r == 1 ? Step{} : classify(r);
}

TlsStream::Step TlsStream::readStep(void* data, std::size_t size, std::size_t& n) {
  if (size == 0) return {};
  clearErrors();
  errno = 0;
  int r = SSL_read_ex(ssl_.get(), data, size, &n);
  return r == 1 ? Step{} : classify(r);
}

TlsStream::Step TlsStream::writeStep(const void* data, std::size_t size, std::size_t& n) {
  if (size == 0) return {};
  clearErrors();
  errno = 0;
  int r = SSL_write_ex(ssl_.get(), data, size, &n);
  return r == 1 ? Step{} : classify(r);
}

// SSL_shutdown returns 0 once our close_notify is out (the peer's is not in
// yet; reads go on until it comes), 1 when both are done.
TlsStream::Step TlsStream::shutdownStep() {
  clearErrors();
  errno = 0;
  int r = SSL_shutdown(ssl_.get());
  return r >= 0 ? Step{} : classify(r);
}

void TlsStream::asyncShutdownSend(std::shared_ptr<void> keep) {
  run([this](std::size_t&) { return shutdownStep(); },
      [keep = std::move(keep)](error_code, std::size_t) {});
}

void shutdownSend(TlsStream& s, std::shared_ptr<void> keep) {
  s.asyncShutdownSend(std::move(keep));
}

void closeStream(TlsStream& s) {
  error_code ec;
  s.lowest_layer().close(ec);
}

namespace {

std::vector<std::string> uriSans(X509* cert) {
  std::vector<std::string> out;
  if (!cert) return out;
  std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
      [](GENERAL_NAMES* n) { GENERAL_NAMES_free(n); });
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names.get(), i);
    if (g->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = g->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

}  // namespace

std::vector<std::string> peerUris(TlsStream& s) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(s.native_handle()),
                                                   &X509_free);
  return uriSans(cert.get());
}

std::vector<std::string> verifiedRootUris(TlsStream& s) {
  STACK_OF(X509)* chain = SSL_get0_verified_chain(s.native_handle());
  int n = chain ? sk_X509_num(chain) : 0;
  if (n == 0) return {};
  return uriSans(sk_X509_value(chain, n - 1));
}

std::vector<std::string> trustedRootUris(TlsStream& s) {
  std::vector<std::string> out;
  X509_STORE* store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(s.native_handle()));
  if (!store) return out;
  // The store's lock: certificates may be added to it lazily (by-dir lookups).
  if (X509_STORE_lock(store) != 1) return out;
  STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(store);
  for (int i = 0; objs && i < sk_X509_OBJECT_num(objs); ++i) {
    X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
    if (!cert) continue;
    auto uris = uriSans(cert);
    out.insert(out.end(), uris.begin(), uris.end());
  }
  X509_STORE_unlock(store);
  return out;
}

Status checkPeerId(TlsStream& s, const std::string& expected) {
  if (expected.empty()) return {};
  auto uris = peerUris(s);
  for (const auto& u : uris)
    if (u == expected) return {};
  std::string got;
  for (const auto& u : uris) got += (got.empty() ? "" : ", ") + u;
  return Error{ErrorCode::kPermissionDenied, "the peer's certificate is for " +
                                                 (got.empty() ? std::string("no URI") : got) +
                                                 ", not " + expected};
}

}  // namespace cairn::proxy
