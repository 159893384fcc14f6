// Service mesh state kept in the replicated catalog: the cluster's CA (its
// roots, with their private keys) and the intentions (who may connect to
// whom). Plain value types; Consul's fields in camelCase.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::registry {

// One root CA certificate. The private key is replicated with it so that any
// server can sign leaf certificates (as Consul's built-in provider keeps its
// key in the state store): whoever can read a server's data dir or a
// snapshot file can issue certificates for the whole mesh.
struct CaRoot {
  std::string id;    // SHA-1 fingerprint of the DER certificate, colon hex
  std::string name;  // "Cairn CA Primary Cert"
  uint64_t serialNumber = 0;
  std::string signingKeyId;  // subject key identifier of the signing key, colon hex
  int64_t notBefore = 0;     // unix seconds
  int64_t notAfter = 0;
  std::string rootCert;  // PEM
  // PEM. For a root made by a rotation: its certificate cross-signed by the
  // previous root, so that a peer trusting only the old root accepts leaves
  // of the new one.
  std::vector<std::string> intermediateCerts;
  std::string privateKey;  // PEM (EC P-256)
  bool active = false;
  int64_t rotatedOutAt = 0;  // unix seconds it stopped being active; 0 while active
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;

  bool operator==(const CaRoot&) const = default;
};

struct CaState {
  std::string clusterId;      // a UUID, made once at bootstrap
  std::vector<CaRoot> roots;  // exactly one active
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;

  // The active root, or nullptr when there is none (never after bootstrap).
  const CaRoot* active() const;
  // "<clusterId>.consul", as Consul names its trust domain.
  std::string trustDomain() const { return clusterId + ".consul"; }
  bool operator==(const CaState&) const = default;
};
using CaStatePtr = std::shared_ptr<const CaState>;

enum class IntentionAction : uint8_t { kAllow, kDeny };
std::string_view toString(IntentionAction a);

// source -> destination allow/deny; either name may be "*" (any service).
struct Intention {
  std::string id;  // a UUID
  std::string sourceName;
  std::string destinationName;
  std::string sourceType = "consul";
  IntentionAction action = IntentionAction::kDeny;
  std::string description;
  std::map<std::string, std::string> meta;
  int64_t createdAt = 0;  // unix nanoseconds
  int64_t updatedAt = 0;
  uint64_t createIndex = 0;
  uint64_t modifyIndex = 0;

  // Equal ignoring indexes and timestamps.
  bool sameContent(const Intention& o) const;
};
using IntentionPtr = std::shared_ptr<const Intention>;

// A random (version 4) UUID, for cluster and intention IDs.
std::string randomUuid();

// Replaces the whole CA state (bootstrap, rotation, pruning of old roots).
// Compare-and-set: applied only when the current CA's modifyIndex equals
// expectModifyIndex (0: no CA exists yet), so two leaders racing to
// bootstrap, or two rotations, cannot overwrite each other; the loser's
// command fails with kInvalidArgument and changes nothing.
struct CaSetCommand {
  CaState state;
  uint64_t expectModifyIndex = 0;
};

// Creates or updates an intention. byName (PUT .../exact): an intention
// with the same source and destination is updated in place, keeping its ID.
// Otherwise by ID: a new ID must not duplicate another intention's source
// and destination; mustExist (PUT .../:id) refuses an unknown ID.
struct IntentionPutCommand {
  Intention intention;
  bool byName = false;
  bool mustExist = false;
};

// Deletes the intention with `id`, or (id empty) the one from source to
// destination. Deleting what does not exist is not an error.
struct IntentionDeleteCommand {
  std::string id;
  std::string sourceName;
  std::string destinationName;
};

}  // namespace cairn::registry
