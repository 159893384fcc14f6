#include "common/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/openssl_errors.hpp"

namespace cairn {

Status checkReadable(const std::string& what, const std::string& path) {
  if (path.empty()) return invalidArgument(what + ": not set");
  std::error_code ec;
  auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::not_found)
    return invalidArgument(what + " " + path + ": no such file");
  if (!ec && type != std::filesystem::file_type::regular)
    return invalidArgument(what + " " + path + ": not a regular file");
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return invalidArgument(what + " " + path + ": cannot read: " + std::strerror(errno));
  std::fclose(f);
  return {};
}

Status useCertificateAndKey(SSL_CTX* ctx, const std::string& certWhat, const std::string& cert,
                            const std::string& keyWhat, const std::string& key) {
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1)
    return invalidArgument(certWhat + " " + cert + ": not a PEM certificate (" + opensslErrors() +
                           ")");
  // Read apart from using it, to tell a bad file from a key of another cert.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(key.c_str(), "r"), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr) : nullptr,
      &EVP_PKEY_free);
  if (!pkey)
    return invalidArgument(keyWhat + " " + key + ": not an unencrypted PEM private key (" +
                           opensslErrors() + ")");
  if (SSL_CTX_use_PrivateKey(ctx, pkey.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return invalidArgument(keyWhat + " " + key + " is not the key of " + certWhat + " " + cert);
  }
  return {};
}

int noPassphrase(char*, int, int, void*) {
  return 0;
}

}  // namespace cairn
