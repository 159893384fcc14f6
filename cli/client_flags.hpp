// Flags of the client commands, accepted anywhere on the command line in
// Consul's spellings: -flag=value, -flag value, and the same with "--".
// "--" ends the flags (what follows is `rest`: a watch handler's command, or
// more arguments); a lone "-" is an argument (stdin).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::cli {

enum class OutputFormat { kTable, kJson };

struct ClientFlags {
  std::string httpAddr;  // -http-addr; empty: $CAIRN_HTTP_ADDR, else 127.0.0.1:8500
  std::string token;     // -token; empty: $CAIRN_HTTP_TOKEN
  // TLS for an https address; empty: the library's environment defaults.
  std::string caFile;                          // -ca-file ($CAIRN_CACERT)
  std::string caPath;                          // -ca-path ($CAIRN_CAPATH)
  std::string clientCert;                      // -client-cert ($CAIRN_CLIENT_CERT)
  std::string clientKey;                       // -client-key ($CAIRN_CLIENT_KEY)
  std::string tlsServerName;                   // -tls-server-name ($CAIRN_TLS_SERVER_NAME)
  OutputFormat format = OutputFormat::kTable;  // -format table|json
  bool passing = false;                        // -passing[=true|false]
  std::vector<std::string> tags;               // -tag, repeatable
  bool stale = false;                          // -stale[=true|false]
  bool consistent = false;                     // -consistent[=true|false]
  std::string id;                              // -id: operator raft
  std::string address;                         // -address: operator raft remove-peer
  std::string type;                            // -type: watch
  std::string service;                         // -service: watch
  std::string state;                           // -state: watch -type checks
  std::vector<std::string> dnsAddrs;           // -dns-addr, repeatable or comma-separated
  bool help = false;                           // -h, -help
  std::vector<std::string> positionals;        // everything before "--" that is not a flag
  std::vector<std::string> rest;               // everything after "--"
  std::set<std::string> given;                 // names of the flags given, without dashes
};

// Fails (kInvalidArgument) naming the flag as typed: unknown flags, missing
// or empty values, a -format other than table or json, a bad boolean.
Result<ClientFlags> parseClientFlags(const std::vector<std::string>& args);

// One line per flag: "  -name=<value>   what it does".
struct FlagHelp {
  std::string_view name;
  std::string_view syntax;
  std::string_view help;
};
// Every flag but the common ones (http-addr, token, format and the TLS
// ones), for help texts.
const std::vector<FlagHelp>& flagHelp();

// The flags every client command takes.
bool isCommonFlag(std::string_view name);

}  // namespace cairn::cli
