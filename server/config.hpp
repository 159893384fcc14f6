// AgentConfig: every setting of `cairn agent`, with its default in one place.
// Filled from config files (TOML or JSON, Consul's key names), then flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/tls.hpp"

namespace cairn::server {

struct DnsConfig {
  bool allowStale = true;
  std::string nodeTtl = "0s";
  std::string serviceTtl = "0s";
  bool onlyPassing = false;
  int udpAnswerLimit = 0;
  int aRecordLimit = 0;
  bool enableAdditionalNodeMetaTxt = true;
  std::string order = "weighted";  // Cairn: weighted, round-robin or least-loaded
  int workers = 2;                 // Cairn: UDP worker threads
  std::string recursorTimeout = "2s";
  // Cairn: abuse resistance. rate_limit { enabled, responses_per_second,
  // burst, slip, ipv4_prefix_length, ipv6_prefix_length, exempt }: UDP
  // answers per client prefix (on by default for servers, off with -dev).
  struct RateLimit {
    std::optional<bool> enabled;
    int responsesPerSecond = 1000;
    int burst = 0;
    int slip = 2;
    int ipv4PrefixLength = 24;
    int ipv6PrefixLength = 56;
    std::optional<std::vector<std::string>> exempt;
  } rateLimit;
  // Clients that may use the recursors (unset: loopback and private networks).
  std::optional<std::vector<std::string>> allowRecursionFrom;
  int maxTcpConnectionsPerClient = 32;
};

// One stanza of Consul's `tls` block, as written (unset: not given).
struct TlsStanza {
  std::optional<std::string> caFile;
  std::optional<std::string> certFile;
  std::optional<std::string> keyFile;
  std::optional<bool> verifyIncoming;
  std::optional<bool> verifyOutgoing;
  std::optional<std::string> minVersion;  // "TLSv1_2" or "TLSv1_3"
};

// Consul's `tls { defaults {...} internal_rpc {...} }`. The older top-level
// keys (ca_file, cert_file, key_file, verify_incoming, verify_outgoing,
// tls_min_version, verify_server_hostname) set the same fields. TLS files
// are read once, at start.
struct TlsSettings {
  TlsStanza defaults;
  TlsStanza internalRpc;  // its set fields win over defaults for server-to-server
  TlsStanza https;        // its set fields win over defaults for the HTTPS API
  bool verifyServerHostname = false;
};

// acl { enabled, default_policy, tokens { initial_management } }.
struct AclConfig {
  bool enabled = false;
  std::string defaultPolicy = "allow";  // "allow" or "deny"
  std::string initialManagement;        // a SecretID with every right (never logged)
};

struct AgentConfig {
  bool dev = false;
  bool server = false;
  std::string nodeName;  // default: the host name
  std::string nodeId;    // default: generated once and kept in the data dir
  std::string datacenter = "dc1";
  std::string dataDir;  // required unless dev (dev: a temp dir)
  std::string clientAddr = "127.0.0.1";
  std::string bindAddr = "0.0.0.0";
  std::string advertiseAddr;  // default: bindAddr, or 127.0.0.1 when that is 0.0.0.0
  int httpPort = 8500;        // -1: no plain HTTP listener
  int httpsPort = -1;         // -1: no HTTPS listener (Consul's default 8501 when set)
  int dnsPort = 8600;
  int serverPort = 8300;
  int bootstrapExpect = 0;
  uint64_t raftSnapshotThreshold = 10'000;  // applied entries between snapshots
  uint64_t raftTrailingLogs = 1'000;        // entries kept after a snapshot
  std::vector<std::string> retryJoin;
  std::string logLevel = "info";
  bool logJson = false;
  std::string domain = "cairn.";
  std::string altDomain = "consul.";
  std::vector<std::string> recursors;
  DnsConfig dns;
  bool enableScriptChecks = false;
  // A check result whose only change is its output is written at most once
  // per this interval (Consul's check_update_interval).
  std::string checkUpdateInterval = "5m";
  // Cairn: how HTTP and TCP checks end their connection once answered:
  // "fin" (a normal close, as Consul) or "reset" (SO_LINGER 0: an RST, no
  // TIME_WAIT, as HAProxy's health checks). See health::ProbeClose.
  std::string checkClose = "fin";
  // Cairn: plain HTTP and TCP checks to IP addresses go through io_uring
  // when the kernel allows it (else, and when false, through epoll). See
  // health::ProbeRing.
  bool checkIoUring = true;
  // Cairn: checks due within this of each other start together, up to this
  // late (health::CheckerConfig::runGranularity; 0 to 1s). Fewer wake-ups
  // for a larger value; the lateness target is 100 ms.
  std::string checkRunGranularity = "20ms";
  int httpThreads = 2;
  uint64_t httpMaxBodyBytes = 1 << 20;
  // Cairn: the body limit of PUT /v1/snapshot (http_config.max_snapshot_bytes).
  uint64_t httpMaxSnapshotBytes = uint64_t{256} << 20;
  std::string httpReadTimeout = "10s";  // a started request must arrive within this
  // Service definitions from config files, each a JSON object as the agent
  // API takes it (kept as JSON text; decoded by the HTTP layer's decoder).
  std::vector<std::string> services;
  std::vector<std::string> checks;
  TlsSettings tls;
  AclConfig acl;
  // The mesh: Consul's `connect { ... }`. Leaf certificates live this long
  // (connect.leaf_cert_ttl, Consul's ca_config.leaf_cert_ttl); intentions
  // fall back to this when none matches (Cairn: connect.default_intention_policy,
  // "allow" as Consul with ACLs off, or "deny").
  std::string connectLeafCertTtl = "72h";
  std::string connectDefaultIntentionPolicy = "allow";

  // Names the first bad field.
  Status validate() const;
};

// The TLS of the HTTPS API (ports.https): tls.https over tls.defaults; cert
// and key required; client certificates demanded when verify_incoming.
Result<tls::TlsConfig> httpsTls(const AgentConfig& c);

// The TLS of server-to-server connections: tls.internal_rpc over
// tls.defaults. Mutual TLS when verify_incoming and verify_outgoing are both
// on, and then ca_file, cert_file and key_file are required; nullopt (plain
// TCP) when both are off. One without the other is an error: the server port
// has no mixed mode. With verify_server_hostname the peer's certificate must
// also name server.<datacenter>.<domain> (or the alt domain), as Consul's
// server certificates do. Checks settings only; the files are loaded by the
// transport.
Result<std::optional<tls::TlsConfig>> serverTls(const AgentConfig& c);

// Sources of configuration, in the order they apply (later wins).
struct ConfigSources {
  std::vector<std::string> files;
  std::vector<std::string> dirs;  // every *.json, *.toml, *.hcl is refused
};

// Reads the files (and the files of the dirs, in name order) over `base`.
// Errors name the file and the key.
Result<AgentConfig> loadConfigFiles(const ConfigSources& src, AgentConfig base);

// Parses `cairn agent` arguments (argv after "agent"). Accepts -flag, --flag,
// -flag=value and -flag value. Returns the config (files applied first,
// flags over them) and the sources used, for SIGHUP reloads.
struct ParsedAgentArgs {
  AgentConfig config;
  ConfigSources sources;
  bool help = false;
  std::string helpText;
};
Result<ParsedAgentArgs> parseAgentArgs(const std::vector<std::string>& args);

}  // namespace cairn::server
