#include "registry/ca_certs.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

namespace cairn::registry {
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

constexpr int64_t kMaxTtlSeconds = int64_t{20} * 365 * 86400;

std::string colonHex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0xf]);
  }
  return out;
}

BioPtr memBio(std::string_view s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())), &BIO_free);
}

std::string bioString(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<CertPtr> readCert(std::string_view pem, const char* what) {
  auto bio = memBio(pem);
  CertPtr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!c) return invalidArgument(std::string(what) + ": not a PEM certificate");
  return c;
}

Result<KeyPtr> readKey(std::string_view pem, const char* what) {
  auto bio = memBio(pem);
  KeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!k) return invalidArgument(std::string(what) + ": not a PEM private key");
  return k;
}

Result<KeyPtr> newKey() {
  KeyPtr k(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!k) return Error{ErrorCode::kInternal, "EC P-256 key generation failed"};
  return k;
}

std::string certPem(X509* x) {
  BioPtr b(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(b.get(), x);
  return bioString(b.get());
}

std::string keyPem(EVP_PKEY* k) {
  BioPtr b(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  return bioString(b.get());
}

// A random positive serial below 2^63 (RFC 5280: unique, at most 20 bytes).
uint64_t randomSerial() {
  uint64_t v = 0;
  while (v == 0) {
    unsigned char b[8];
    CAIRN_CHECK(RAND_bytes(b, sizeof b) == 1, "OpenSSL's random generator works");
    for (unsigned char c : b) v = (v << 8) | c;
    v &= ~(uint64_t{1} << 63);
  }
  return v;
}

int64_t asUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Status addExt(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!e) return Error{ErrorCode::kInternal, std::string("bad certificate extension ") + value};
  int ok = X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
  if (!ok) return Error{ErrorCode::kInternal, "cannot add a certificate extension"};
  return {};
}

// A subjectAltName of one URI, built as a value (no config-string parsing,
// so a name cannot smuggle in more SANs).
Status addUriSan(X509* x, std::string_view uri) {
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  bool ok = names && gn && s && ASN1_STRING_set(s, uri.data(), static_cast<int>(uri.size())) == 1;
  if (ok) {
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    s = nullptr;
    ok = sk_GENERAL_NAME_push(names, gn) > 0;
    if (ok) gn = nullptr;
  }
  ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
  ASN1_IA5STRING_free(s);
  GENERAL_NAME_free(gn);
  GENERAL_NAMES_free(names);
  if (!ok) return Error{ErrorCode::kInternal, "cannot add the URI SAN"};
  return {};
}

Status setValidity(X509* x, int64_t from, int64_t to) {
  if (!ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(from)) ||
      !ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(to)))
    return Error{ErrorCode::kInternal, "cannot set certificate validity"};
  return {};
}

Status setSerial(X509* x, uint64_t serial) {
  if (!ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial))
    return Error{ErrorCode::kInternal, "cannot set the serial number"};
  return {};
}

Status setCommonName(X509_NAME* name, std::string_view cn) {
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(cn.data()),
                                  static_cast<int>(cn.size()), -1, 0))
    return invalidArgument("bad common name");
  return {};
}

Status sign(X509* x, EVP_PKEY* key) {
  if (X509_sign(x, key, EVP_sha256()) <= 0)
    return Error{ErrorCode::kInternal, "signing the certificate failed"};
  return {};
}

IssuedCert facts(X509* x) {
  IssuedCert c;
  c.certPem = certPem(x);
  uint64_t serial = 0;
  if (ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(x)) == 1) c.serial = serial;
  unsigned char sn[8];
  for (int i = 0; i < 8; ++i) sn[i] = static_cast<unsigned char>(c.serial >> (56 - 8 * i));
  size_t skip = 0;
  while (skip < 7 && sn[skip] == 0) ++skip;
  c.serialHex = colonHex(sn + skip, sizeof sn - skip);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(x, EVP_sha1(), md, &n) == 1) c.fingerprint = colonHex(md, n);
  if (const ASN1_OCTET_STRING* skid = X509_get0_subject_key_id(x))
    c.subjectKeyId = colonHex(ASN1_STRING_get0_data(skid), ASN1_STRING_length(skid));
  if (const ASN1_OCTET_STRING* akid = X509_get0_authority_key_id(x))
    c.authorityKeyId = colonHex(ASN1_STRING_get0_data(akid), ASN1_STRING_length(akid));
  c.notBefore = asUnix(X509_get0_notBefore(x));
  c.notAfter = asUnix(X509_get0_notAfter(x));
  return c;
}

// The extensions every CA certificate of the mesh carries.
Status addCaExtensions(X509* x, X509* issuer) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  if (Status st = addExt(x, &ctx, NID_basic_constraints, "critical,CA:TRUE"); !st.ok()) return st;
  if (Status st = addExt(x, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
      !st.ok())
    return st;
  if (Status st = addExt(x, &ctx, NID_subject_key_identifier, "hash"); !st.ok()) return st;
  return addExt(x, &ctx, NID_authority_key_identifier, "keyid:always");
}

#define CAIRN_RETURN_IF_ERROR(expr)    \
  do {                                 \
    ::cairn::Status _st = (expr);      \
    if (!_st.ok()) return _st.error(); \
  } while (0)

}  // namespace

Result<IssuedCert> makeRootCa(std::string_view trustDomain, std::string_view commonName,
                              int64_t now, int64_t ttlSeconds) {
  if (ttlSeconds <= 0 || ttlSeconds > kMaxTtlSeconds)
    return invalidArgument("root certificate TTL out of range");
  auto key = newKey();
  if (!key.ok()) return key.error();
  CertPtr x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  CAIRN_RETURN_IF_ERROR(setSerial(x.get(), randomSerial()));
  CAIRN_RETURN_IF_ERROR(setValidity(x.get(), now - 60, now + ttlSeconds));
  X509_set_pubkey(x.get(), key->get());
  CAIRN_RETURN_IF_ERROR(setCommonName(X509_get_subject_name(x.get()), commonName));
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  CAIRN_RETURN_IF_ERROR(addCaExtensions(x.get(), x.get()));
  CAIRN_RETURN_IF_ERROR(addUriSan(x.get(), "spiffe://" + std::string(trustDomain)));
  CAIRN_RETURN_IF_ERROR(sign(x.get(), key->get()));
  IssuedCert c = facts(x.get());
  c.keyPem = keyPem(key->get());
  return c;
}

Result<IssuedCert> crossSign(std::string_view newRootPem, std::string_view oldRootPem,
                             std::string_view oldKeyPem, int64_t now) {
  auto nr = readCert(newRootPem, "new root");
  if (!nr.ok()) return nr.error();
  auto old = readCert(oldRootPem, "old root");
  if (!old.ok()) return old.error();
  auto oldKey = readKey(oldKeyPem, "old root key");
  if (!oldKey.ok()) return oldKey.error();
  X509* n = nr->get();
  CertPtr x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  CAIRN_RETURN_IF_ERROR(setSerial(x.get(), randomSerial()));
  int64_t until = std::min(asUnix(X509_get0_notAfter(n)), asUnix(X509_get0_notAfter(old->get())));
  CAIRN_RETURN_IF_ERROR(setValidity(x.get(), now - 60, until));
  X509_set_pubkey(x.get(), X509_get0_pubkey(n));
  X509_set_subject_name(x.get(), X509_get_subject_name(n));
  X509_set_issuer_name(x.get(), X509_get_subject_name(old->get()));
  CAIRN_RETURN_IF_ERROR(addCaExtensions(x.get(), old->get()));
  int san = X509_get_ext_by_NID(n, NID_subject_alt_name, -1);
  if (san >= 0 && !X509_add_ext(x.get(), X509_get_ext(n, san), -1))
    return Error{ErrorCode::kInternal, "cannot copy the new root's SAN"};
  CAIRN_RETURN_IF_ERROR(sign(x.get(), oldKey->get()));
  return facts(x.get());
}

Result<IssuedCert> signLeaf(std::string_view caCertPem, std::string_view caKeyPem,
                            const LeafSpec& spec) {
  if (spec.ttlSeconds <= 0 || spec.ttlSeconds > kMaxTtlSeconds)
    return invalidArgument("leaf certificate TTL out of range");
  auto ca = readCert(caCertPem, "CA certificate");
  if (!ca.ok()) return ca.error();
  auto caKey = readKey(caKeyPem, "CA key");
  if (!caKey.ok()) return caKey.error();
  auto key = newKey();
  if (!key.ok()) return key.error();
  CertPtr x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  CAIRN_RETURN_IF_ERROR(setSerial(x.get(), randomSerial()));
  int64_t until = std::min(spec.now + spec.ttlSeconds, asUnix(X509_get0_notAfter(ca->get())));
  CAIRN_RETURN_IF_ERROR(setValidity(x.get(), spec.now - spec.backdateSeconds, until));
  X509_set_pubkey(x.get(), key->get());
  if (!spec.commonName.empty())
    CAIRN_RETURN_IF_ERROR(setCommonName(X509_get_subject_name(x.get()), spec.commonName));
  X509_set_issuer_name(x.get(), X509_get_subject_name(ca->get()));
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca->get(), x.get(), nullptr, nullptr, 0);
  CAIRN_RETURN_IF_ERROR(addExt(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  CAIRN_RETURN_IF_ERROR(
      addExt(x.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  CAIRN_RETURN_IF_ERROR(addExt(x.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  CAIRN_RETURN_IF_ERROR(addExt(x.get(), &ctx, NID_subject_key_identifier, "hash"));
  CAIRN_RETURN_IF_ERROR(addExt(x.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  CAIRN_RETURN_IF_ERROR(addUriSan(x.get(), spec.spiffeUri));
  CAIRN_RETURN_IF_ERROR(sign(x.get(), caKey->get()));
  IssuedCert c = facts(x.get());
  c.keyPem = keyPem(key->get());
  return c;
}

Result<IssuedCert> inspectCert(std::string_view pem) {
  auto x = readCert(pem, "certificate");
  if (!x.ok()) return x.error();
  return facts(x->get());
}

Result<std::vector<std::string>> certUris(std::string_view pem) {
  auto x = readCert(pem, "certificate");
  if (!x.ok()) return x.error();
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x->get(), NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace cairn::registry
