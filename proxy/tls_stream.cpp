#include "proxy/tls_stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace cairn::proxy {

void shutdownSend(TlsStream& s, std::shared_ptr<void> keep) {
  SSL* ssl = s.native_handle();
  int before = SSL_get_shutdown(ssl);
  SSL_set_shutdown(ssl, before | SSL_RECEIVED_SHUTDOWN);
  // Runs SSL_shutdown at once (it queues our close_notify and, both flags
  // being set, returns 1), then writes asynchronously.
  s.async_shutdown([keep = std::move(keep)](boost::system::error_code) {});
  int after = SSL_get_shutdown(ssl);
  SSL_set_shutdown(ssl, (after & ~SSL_RECEIVED_SHUTDOWN) | (before & SSL_RECEIVED_SHUTDOWN));
}

void closeStream(TlsStream& s) {
  boost::system::error_code ec;
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
