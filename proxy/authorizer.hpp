// Authorizer: the inbound side's intention check. Given the registry's
// intentions for this proxy's service (a snapshot kept current by
// IntentionWatch) and the URI SANs of a client's verified certificate, says
// whether the connection may go on to the local app, and why. Pure: no I/O,
// no clock; the decision itself is registry::decideIntention (Consul's
// precedence), linked, not copied.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/connect.hpp"

namespace cairn::proxy {

// The intentions that can apply to one destination (its exact ones and the
// "*" ones), and the decision for a source that none of them matches.
struct IntentionSet {
  uint64_t index = 0;  // X-Consul-Index of the list it came from
  std::vector<registry::Intention> intentions;
  // The agent's connect.default_intention_policy as it applies to this
  // destination, learned from /v1/connect/intentions/check?source=*.
  bool defaultAllow = false;
};

// Parses the body of GET /v1/connect/intentions and keeps the intentions
// whose DestinationName is `destination` or "*". Fails (kInvalidArgument) on
// a body that is not a list of intentions; entries with an unknown Action
// are an error too (deciding without them could allow what they deny).
Result<std::vector<registry::Intention>> decodeIntentionsFor(std::string_view body,
                                                             std::string_view destination);

// Parses the body of GET /v1/connect/intentions/check: {"Allowed": bool}.
Result<bool> decodeCheckAllowed(std::string_view body);

// The trust domain a root CA certificate names in its URI SAN
// ("spiffe://<td>", as the mesh's roots carry); nullopt for a URI that is
// not exactly that shape.
std::optional<std::string> rootTrustDomain(std::string_view uri);

struct Decision {
  bool allowed = false;
  std::string source;       // the client's service; empty if it has none
  std::string intentionId;  // the deciding intention; empty: the default or a refusal
  std::string reason;       // for the log line
};

class Authorizer {
 public:
  explicit Authorizer(std::string destination) : destination_(std::move(destination)) {}

  // Replaces the intentions in force (never null).
  void update(std::shared_ptr<const IntentionSet> set) { set_ = std::move(set); }
  bool ready() const { return set_ != nullptr; }
  uint64_t index() const { return set_ ? set_->index : 0; }
  const std::string& destination() const { return destination_; }

  // `peerUris`: the URI SANs of the client's certificate (already verified
  // against the roots). `trustDomains`: those of the root that verified it
  // (empty when that root names none: then no trust-domain check).
  // Refuses, fail closed, while no intentions have arrived; refuses a
  // certificate without exactly one parseable SPIFFE service ID, and one
  // from another trust domain.
  Decision decide(const std::vector<std::string>& peerUris,
                  const std::vector<std::string>& trustDomains) const;

  // The decision for a source service already identified (close_denied's
  // re-check of established connections). Requires ready().
  Decision decideSource(const std::string& source) const;

 private:
  std::string destination_;
  std::shared_ptr<const IntentionSet> set_;
};

}  // namespace cairn::proxy
