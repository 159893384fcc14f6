// Test support: a throwaway PKI made at test time with OpenSSL's C API
// (P-256 keys, CAs, leaf certificates signed by them), written as PEM files
// into a directory the test owns. Nothing is fetched or kept.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace cairn::tls::testing {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

struct LeafOptions {
  std::vector<std::string> dnsNames = {"server.dc1.cairn", "localhost"};
  bool serverAuth = true;
  bool clientAuth = true;
  long notBeforeSeconds = -60;  // relative to now
  long notAfterSeconds = 3600;
  const char* passphrase = nullptr;  // encrypts the key file when set
};

class Pki {
 public:
  struct Files {
    std::string cert;
    std::string key;
  };

  explicit Pki(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
  }

  // A new self-signed CA; returns its certificate file (<dir>/<name>.pem).
  std::string makeCa(const std::string& name) {
    KeyPtr key = newKey();
    CertPtr cert = sign(name, key.get(), nullptr, nullptr, true, {});
    std::string file = (dir_ / (name + ".pem")).string();
    writeCert(file, cert.get());
    cas_.emplace(name, Ca{std::move(key), std::move(cert)});
    return file;
  }

  // A leaf certificate for `name` signed by the CA `ca` (made by makeCa).
  Files issue(const std::string& ca, const std::string& name, const LeafOptions& opts = {}) {
    auto& issuer = cas_.at(ca);
    KeyPtr key = newKey();
    CertPtr cert = sign(name, key.get(), issuer.cert.get(), issuer.key.get(), false, opts);
    Files f{(dir_ / (name + ".crt")).string(), (dir_ / (name + ".key")).string()};
    writeCert(f.cert, cert.get());
    std::FILE* out = std::fopen(f.key.c_str(), "w");
    if (!out) throw std::runtime_error("cannot write " + f.key);
    const EVP_CIPHER* cipher = opts.passphrase ? EVP_aes_256_cbc() : nullptr;
    PEM_write_PrivateKey(out, key.get(), cipher, nullptr, 0, nullptr,
                         const_cast<char*>(opts.passphrase));
    std::fclose(out);
    return f;
  }

  // Concatenates PEM files into <dir>/<name>.
  std::string bundle(const std::string& name, const std::vector<std::string>& files) {
    std::string path = (dir_ / name).string();
    std::ofstream out(path);
    for (const auto& f : files) out << std::ifstream(f).rdbuf();
    return path;
  }

  // Writes arbitrary text to <dir>/<name>.
  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

 private:
  struct Ca {
    KeyPtr key;
    CertPtr cert;
  };

  static KeyPtr newKey() {
    KeyPtr k(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    if (!k) throw std::runtime_error("EC key generation failed");
    return k;
  }

  CertPtr sign(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey, bool isCa,
               const LeafOptions& opts) {
    CertPtr x(X509_new(), &X509_free);
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ++serial_);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), isCa ? -60 : opts.notBeforeSeconds);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), isCa ? 86400 : opts.notAfterSeconds);
    X509_set_pubkey(x.get(), key);
    X509_NAME* subject = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : subject);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    auto add = [&](int nid, const std::string& value) {
      X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
      if (!e) throw std::runtime_error("bad extension " + value);
      X509_add_ext(x.get(), e, -1);
      X509_EXTENSION_free(e);
    };
    add(NID_subject_key_identifier, "hash");
    if (isCa) {
      add(NID_basic_constraints, "critical,CA:TRUE");
      add(NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
      add(NID_basic_constraints, "critical,CA:FALSE");
      add(NID_key_usage, "critical,digitalSignature");
      add(NID_authority_key_identifier, "keyid");
      std::string eku;
      if (opts.serverAuth) eku = "serverAuth";
      if (opts.clientAuth) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
      if (!eku.empty()) add(NID_ext_key_usage, eku);
      std::string san = "IP:127.0.0.1";
      for (const auto& n : opts.dnsNames) san += ",DNS:" + n;
      add(NID_subject_alt_name, san);
    }
    if (!X509_sign(x.get(), issuerKey ? issuerKey : key, EVP_sha256()))
      throw std::runtime_error("signing failed");
    return x;
  }

  static void writeCert(const std::string& file, X509* cert) {
    std::FILE* out = std::fopen(file.c_str(), "w");
    if (!out) throw std::runtime_error("cannot write " + file);
    PEM_write_X509(out, cert);
    std::fclose(out);
  }

  std::filesystem::path dir_;
  std::map<std::string, Ca> cas_;
  long serial_ = 0;
};

}  // namespace cairn::tls::testing
