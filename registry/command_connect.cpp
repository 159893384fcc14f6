// Protobuf conversions of the mesh records: proxies, the CA, intentions.
#include <openssl/rand.h>

#include <cstdio>

#include "common/result.hpp"
#include "registry/connect_pb.hpp"
#include "registry/pb_fields.hpp"

namespace cairn::registry {

void toPb(const ServiceProxy& s, pb::ServiceProxyRec* p) {
  p->set_destination_service_name(s.destinationServiceName);
  p->set_destination_service_id(s.destinationServiceId);
  p->set_local_service_address(s.localServiceAddress);
  p->set_local_service_port(s.localServicePort);
  for (const auto& u : s.upstreams) {
    auto* pu = p->add_upstreams();
    pu->set_destination_name(u.destinationName);
    pu->set_datacenter(u.datacenter);
    pu->set_local_bind_address(u.localBindAddress);
    pu->set_local_bind_port(u.localBindPort);
    pu->set_config_json(u.config);
  }
  p->set_config_json(s.config);
}

ServiceProxy fromPb(const pb::ServiceProxyRec& p) {
  ServiceProxy s;
  s.destinationServiceName = p.destination_service_name();
  s.destinationServiceId = p.destination_service_id();
  s.localServiceAddress = p.local_service_address();
  s.localServicePort = p.local_service_port();
  for (const auto& pu : p.upstreams())
    s.upstreams.push_back({pu.destination_name(), pu.datacenter(), pu.local_bind_address(),
                           pu.local_bind_port(), pu.config_json()});
  s.config = p.config_json();
  return s;
}

void toPb(const CaState& s, pb::CaStateRec* p) {
  p->set_cluster_id(s.clusterId);
  for (const auto& r : s.roots) {
    auto* pr = p->add_roots();
    pr->set_id(r.id);
    pr->set_name(r.name);
    pr->set_serial_number(r.serialNumber);
    pr->set_signing_key_id(r.signingKeyId);
    pr->set_not_before(r.notBefore);
    pr->set_not_after(r.notAfter);
    pr->set_root_cert(r.rootCert);
    for (const auto& c : r.intermediateCerts) pr->add_intermediate_certs(c);
    pr->set_private_key(r.privateKey);
    pr->set_active(r.active);
    pr->set_rotated_out_at(r.rotatedOutAt);
    indexesToPb(r, pr);
  }
  indexesToPb(s, p);
}

CaState fromPb(const pb::CaStateRec& p) {
  CaState s;
  s.clusterId = p.cluster_id();
  for (const auto& pr : p.roots()) {
    CaRoot r;
    r.id = pr.id();
    r.name = pr.name();
    r.serialNumber = pr.serial_number();
    r.signingKeyId = pr.signing_key_id();
    r.notBefore = pr.not_before();
    r.notAfter = pr.not_after();
    r.rootCert = pr.root_cert();
    r.intermediateCerts.assign(pr.intermediate_certs().begin(), pr.intermediate_certs().end());
    r.privateKey = pr.private_key();
    r.active = pr.active();
    r.rotatedOutAt = pr.rotated_out_at();
    indexesFromPb(pr, r);
    s.roots.push_back(std::move(r));
  }
  indexesFromPb(p, s);
  return s;
}

void toPb(const Intention& i, pb::IntentionRec* p) {
  p->set_id(i.id);
  p->set_source_name(i.sourceName);
  p->set_destination_name(i.destinationName);
  p->set_source_type(i.sourceType);
  p->set_action(i.action == IntentionAction::kAllow ? 1 : 2);
  p->set_description(i.description);
  mapToPb(i.meta, p->mutable_meta());
  p->set_created_at(i.createdAt);
  p->set_updated_at(i.updatedAt);
  indexesToPb(i, p);
}

Intention fromPb(const pb::IntentionRec& p) {
  Intention i;
  i.id = p.id();
  i.sourceName = p.source_name();
  i.destinationName = p.destination_name();
  i.sourceType = p.source_type();
  i.action = p.action() == 1 ? IntentionAction::kAllow : IntentionAction::kDeny;
  i.description = p.description();
  i.meta.insert(p.meta().begin(), p.meta().end());
  i.createdAt = p.created_at();
  i.updatedAt = p.updated_at();
  indexesFromPb(p, i);
  return i;
}

std::string randomUuid() {
  unsigned char b[16];
  CAIRN_CHECK(RAND_bytes(b, sizeof b) == 1, "OpenSSL's random generator works");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

const CaRoot* CaState::active() const {
  for (const auto& r : roots)
    if (r.active) return &r;
  return nullptr;
}

}  // namespace cairn::registry
