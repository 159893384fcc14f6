// Flags shared by the client commands, accepted anywhere on the command line
// in Consul's spellings: -flag=value, -flag value, and the same with "--".
// "--" ends the flags; a lone "-" is an argument (stdin).
#pragma once

#include <string>
#include <vector>

#include "common/result.hpp"

namespace cairn::cli {

enum class OutputFormat { kTable, kJson };

struct ClientFlags {
  std::string httpAddr;  // -http-addr; empty: $CAIRN_HTTP_ADDR, else 127.0.0.1:8500
  OutputFormat format = OutputFormat::kTable;  // -format table|json
  bool passing = false;                        // -passing[=true|false]
  bool passingGiven = false;
  std::string id;       // -id: operator raft remove-peer / transfer-leader
  std::string address;  // -address: operator raft remove-peer
  bool stale = false;   // -stale[=true|false]: snapshot save from any server
  bool staleGiven = false;
  bool help = false;                     // -h, -help
  std::vector<std::string> positionals;  // everything that is not a flag, in order
};

// Fails (kInvalidArgument) naming the flag as typed: unknown flags, missing
// or empty values, a -format other than table or json, a bad boolean.
Result<ClientFlags> parseClientFlags(const std::vector<std::string>& args);

}  // namespace cairn::cli
