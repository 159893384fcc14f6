// TLS settings as plain values: what a component needs to know to ask for a
// TLS context. No OpenSSL or Asio type here; the context itself is built by
// common/tls_context.hpp, which only .cpp files include.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::tls {

enum class TlsVersion { k12, k13 };

// Which ends of a connection the context will be used for. It decides the
// verify mode and which extended key usages the certificate must allow.
enum class TlsRole { kServer, kClient, kBoth };

struct TlsConfig {
  std::string caFile;    // PEM bundle: the CAs a peer certificate must chain to
  std::string certFile;  // PEM: this side's certificate, then any intermediates
  std::string keyFile;   // PEM: its private key, unencrypted
  TlsVersion minVersion = TlsVersion::k12;
  TlsRole role = TlsRole::kBoth;
  // Demand a certificate from the peer and verify it against caFile (as a
  // server: a client without a certificate is refused; as a client: the
  // server's certificate is checked).
  bool verifyPeer = true;
  // When not empty, the peer's certificate must also be valid for one of
  // these DNS names (subjectAltName, no partial wildcards).
  std::vector<std::string> peerNames;
};

// Parses Consul's spellings of a minimum version ("TLSv1_2", "TLSv1_3", and
// the older "tls12", "tls13"). TLS 1.0 and 1.1 are refused by name.
Result<TlsVersion> parseTlsVersion(std::string_view name);

}  // namespace cairn::tls
