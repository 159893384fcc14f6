// The mesh CA's certificate work (OpenSSL 3, EC P-256, ECDSA with SHA-256):
// making a root, cross-signing a new root with an old one, and signing
// leaf certificates for services. Only strings and integers cross this
// header; no OpenSSL type leaks out. Time comes in as unix seconds so tests
// can pin it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::registry {

// A certificate with its facts, as the roots and leaf endpoints show them.
struct IssuedCert {
  std::string certPem;
  std::string keyPem;        // empty for a cross-signed certificate
  uint64_t serial = 0;       // < 2^63
  std::string serialHex;     // colon hex, as Consul shows leaf serials
  std::string fingerprint;   // SHA-1 of the DER certificate, colon hex (a root's ID)
  std::string subjectKeyId;  // colon hex
  std::string authorityKeyId;
  int64_t notBefore = 0;  // unix seconds
  int64_t notAfter = 0;
};

// A self-signed root: CA:TRUE (critical), keyCertSign + cRLSign (critical),
// a URI SAN spiffe://<trustDomain>, valid from now - 1 min for ttlSeconds.
// `commonName` must differ between roots of one cluster.
Result<IssuedCert> makeRootCa(std::string_view trustDomain, std::string_view commonName,
                              int64_t now, int64_t ttlSeconds);

// The certificate of `newRootPem`'s subject and key, issued by the old root
// (its certificate and key): a peer that trusts only the old root can
// verify leaves of the new one through it. Valid while both roots are.
Result<IssuedCert> crossSign(std::string_view newRootPem, std::string_view oldRootPem,
                             std::string_view oldKeyPem, int64_t now);

struct LeafSpec {
  std::string spiffeUri;  // the only SAN
  std::string commonName;
  int64_t now = 0;
  int64_t ttlSeconds = 72 * 3600;
  int64_t backdateSeconds = 60;
};

// A new EC P-256 key and its certificate signed by the CA: exactly one URI
// SAN, CA:FALSE (critical), keyUsage digitalSignature + keyEncipherment
// (critical), extendedKeyUsage serverAuth + clientAuth, valid from
// now - backdate to now + ttl (never past the CA's own notAfter).
Result<IssuedCert> signLeaf(std::string_view caCertPem, std::string_view caKeyPem,
                            const LeafSpec& spec);

// The facts of a PEM certificate (for tests and for checking imported roots).
Result<IssuedCert> inspectCert(std::string_view certPem);

// The URI SANs of a PEM certificate.
Result<std::vector<std::string>> certUris(std::string_view certPem);

}  // namespace cairn::registry
