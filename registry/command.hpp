// Commands: the only way the catalog changes. Each is encoded to bytes
// (protobuf inside, not visible here), replicated, and applied in log order.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "registry/acl.hpp"
#include "registry/model.hpp"

namespace cairn::registry {

// Current encoding version; a decoder refuses newer ones. A command is
// encoded with the oldest version that has it, so that a server one version
// behind still applies everything but the new kinds during an upgrade:
// version 1: register, deregister, check status, restore;
// version 2: check status batch;
// version 3: a register carrying a gRPC check (CheckDefinition::grpc). An
// older server would drop the fields it does not know and keep a check it
// can never run; it refuses the command instead;
// version 4: ACL commands (AclCommand).
inline constexpr uint32_t kCommandVersion = 4;

// Upserts a node, and optionally one service on it and checks on either.
// Indexes in the records are ignored; apply assigns them.
struct RegisterCommand {
  Node node;
  bool skipNodeUpdate = false;  // keep the node's existing fields if it exists
  std::optional<Service> service;
  std::vector<Check> checks;
};

// Removes a check (checkId set), a service and its checks (serviceId set),
// or a whole node with everything on it (neither set).
struct DeregisterCommand {
  std::string node;
  std::string serviceId;
  std::string checkId;
};

// Sets a check's status and output (TTL reports, check results).
struct CheckStatusCommand {
  std::string node;
  std::string checkId;
  HealthStatus status = HealthStatus::kCritical;
  std::string output;
};

// Several checks' results at once (the health checker's batches), applied
// in order in one log entry. An update for a check that no longer exists is
// skipped (it was deregistered after the result was taken), not an error.
struct CheckStatusBatchCommand {
  std::vector<CheckStatusCommand> updates;
};

// Replaces the whole catalog with the rows of a snapshot (PUT /v1/snapshot).
// `payload` is a snapshot file's payload (snapshot_file.hpp), checked by the
// proposer and decoded again by every server as it applies the command.
// Every restored record, and every node, service and table index, gets the
// command's own log index (see restoredView in apply.hpp for why).
struct RestoreCommand {
  std::string payload;
};

// Changes the ACL state. The proposer fills in every random or clock value
// (SecretIDs, AccessorIDs, CreateTime), so applying is deterministic.
// kBootstrap: `token` is the management token; creates the global-management
//   policy and the anonymous token too; refused once bootstrapped.
// kSetPolicy / kSetToken: create or replace by ID (`policy.id`,
//   `token.accessorId`); the CreateIndex of an existing one is kept.
// kDeletePolicy / kDeleteToken: by ID (`id`).
struct AclCommand {
  enum class Op : uint8_t { kBootstrap, kSetPolicy, kDeletePolicy, kSetToken, kDeleteToken };
  Op op = Op::kSetPolicy;
  acl::Policy policy;
  acl::Token token;
  std::string id;
};

using Command = std::variant<RegisterCommand, DeregisterCommand, CheckStatusCommand, RestoreCommand,
                             CheckStatusBatchCommand, AclCommand>;

// The oldest version that has everything in `cmd` (the version it is encoded with).
uint32_t commandVersion(const Command& cmd);
std::string encodeCommand(const Command& cmd);
Result<Command> decodeCommand(std::string_view bytes);

// Record encodings used by the store rows.
std::string encodeNode(const Node& n);
std::string encodeService(const Service& s);
std::string encodeCheck(const Check& c);
Result<Node> decodeNode(std::string_view bytes);
Result<Service> decodeService(std::string_view bytes);
Result<Check> decodeCheck(std::string_view bytes);
std::string encodeAclState(const acl::AclState& s);
Result<acl::AclState> decodeAclState(std::string_view bytes);

}  // namespace cairn::registry
