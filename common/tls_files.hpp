// The PEM files of a TLS context, read with errors that name the file and
// say what is wrong with it. Private to the build (not installed), compiled
// into cairn_asio_ssl like openssl_errors.hpp, so that the client library,
// cairn_tls and the proxy share it. No OpenSSL header here.
#pragma once

#include <string>

#include "common/result.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace cairn {

// A missing or unreadable file is the usual mistake: says so ("<what>: not
// set", "<what> <path>: no such file", ": not a regular file", ": cannot
// read: <reason>") before OpenSSL says something vaguer.
Status checkReadable(const std::string& what, const std::string& path);

// Loads the PEM certificate chain `cert` and the unencrypted PEM private
// key `key` into `ctx` and checks that the key is the certificate's. Errors
// name the files as "<certWhat> <cert>" and "<keyWhat> <key>". An encrypted
// key is refused, never prompted for.
Status useCertificateAndKey(ssl_ctx_st* ctx, const std::string& certWhat, const std::string& cert,
                            const std::string& keyWhat, const std::string& key);

// A pem_password_cb that gives no pass phrase: without one OpenSSL would
// prompt on the terminal for the pass phrase of an encrypted key.
int noPassphrase(char* buf, int size, int rwflag, void* userdata);

}  // namespace cairn
