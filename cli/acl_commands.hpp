// cairn acl ...: ACL bootstrap, policies and tokens over the HTTP API.
//
//   cairn acl bootstrap
//   cairn acl policy create -name NAME [-description D] -rules RULES|@FILE
//   cairn acl policy list
//   cairn acl token create [-description D] [-policy-name N]... [-policy-id ID]...
//   cairn acl token list
//   cairn acl token delete -id ACCESSOR_ID
//
// Flags: -http-addr ADDR (default $CAIRN_HTTP_ADDR, else 127.0.0.1:8500),
// -token SECRET (default $CAIRN_HTTP_TOKEN, else $CONSUL_HTTP_TOKEN),
// -format table|json.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace cairn::cli {

// args[0] is "acl". Returns 0 on success, 1 with a message on `err` otherwise.
int runAclCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace cairn::cli
