#include "registry/command.hpp"

#include "registry/connect_pb.hpp"
#include "registry/pb_fields.hpp"
#include "registry/registry.pb.h"

namespace cairn::registry {
namespace {

void toPb(const Node& n, pb::NodeRec* p) {
  p->set_name(n.name);
  p->set_id(n.id);
  p->set_address(n.address);
  p->set_datacenter(n.datacenter);
  mapToPb(n.taggedAddresses, p->mutable_tagged_addresses());
  mapToPb(n.meta, p->mutable_meta());
  indexesToPb(n, p);
}

Node fromPb(const pb::NodeRec& p) {
  Node n;
  n.name = p.name();
  n.id = p.id();
  n.address = p.address();
  n.datacenter = p.datacenter();
  n.taggedAddresses.insert(p.tagged_addresses().begin(), p.tagged_addresses().end());
  n.meta.insert(p.meta().begin(), p.meta().end());
  indexesFromPb(p, n);
  return n;
}

void toPb(const Service& s, pb::ServiceRec* p) {
  p->set_node(s.node);
  p->set_id(s.id);
  p->set_name(s.name);
  for (const auto& t : s.tags) p->add_tags(t);
  p->set_address(s.address);
  for (const auto& [k, v] : s.taggedAddresses) {
    auto& a = (*p->mutable_tagged_addresses())[k];
    a.set_address(v.address);
    a.set_port(v.port);
  }
  p->set_port(s.port);
  mapToPb(s.meta, p->mutable_meta());
  p->set_weight_passing(s.weights.passing);
  p->set_weight_warning(s.weights.warning);
  p->set_enable_tag_override(s.enableTagOverride);
  p->set_kind(s.kind);
  if (s.proxy != ServiceProxy{}) registry::toPb(s.proxy, p->mutable_proxy());
  p->set_connect_native(s.connectNative);
  indexesToPb(s, p);
}

Service fromPb(const pb::ServiceRec& p) {
  Service s;
  s.node = p.node();
  s.id = p.id();
  s.name = p.name();
  s.tags.assign(p.tags().begin(), p.tags().end());
  s.address = p.address();
  for (const auto& [k, v] : p.tagged_addresses()) s.taggedAddresses[k] = {v.address(), v.port()};
  s.port = p.port();
  s.meta.insert(p.meta().begin(), p.meta().end());
  s.weights = {p.weight_passing(), p.weight_warning()};
  s.enableTagOverride = p.enable_tag_override();
  s.kind = p.kind();
  if (p.has_proxy()) s.proxy = registry::fromPb(p.proxy());
  s.connectNative = p.connect_native();
  indexesFromPb(p, s);
  return s;
}

HealthStatus statusFromPb(int32_t v) {
  if (v == 0) return HealthStatus::kPassing;
  if (v == 1) return HealthStatus::kWarning;
  return HealthStatus::kCritical;
}

void toPb(const Check& c, pb::CheckRec* p) {
  p->set_node(c.node);
  p->set_check_id(c.checkId);
  p->set_name(c.name);
  p->set_status(static_cast<int32_t>(c.status));
  p->set_notes(c.notes);
  p->set_output(c.output);
  p->set_service_id(c.serviceId);
  p->set_service_name(c.serviceName);
  for (const auto& t : c.serviceTags) p->add_service_tags(t);
  p->set_type(c.type);
  auto* d = p->mutable_definition();
  const auto& def = c.definition;
  d->set_http(def.http);
  d->set_method(def.method);
  for (const auto& [k, vs] : def.header) {
    auto& hv = (*d->mutable_header())[k];
    for (const auto& v : vs) hv.add_values(v);
  }
  d->set_body(def.body);
  d->set_tcp(def.tcp);
  for (const auto& a : def.args) d->add_args(a);
  d->set_interval(def.interval);
  d->set_timeout(def.timeout);
  d->set_ttl(def.ttl);
  d->set_deregister_critical_service_after(def.deregisterCriticalServiceAfter);
  d->set_tls_skip_verify(def.tlsSkipVerify);
  d->set_tls_server_name(def.tlsServerName);
  d->set_success_before_passing(def.successBeforePassing);
  d->set_failures_before_warning(def.failuresBeforeWarning);
  d->set_failures_before_critical(def.failuresBeforeCritical);
  d->set_grpc(def.grpc);
  d->set_grpc_use_tls(def.grpcUseTls);
  indexesToPb(c, p);
}

Check fromPb(const pb::CheckRec& p) {
  Check c;
  c.node = p.node();
  c.checkId = p.check_id();
  c.name = p.name();
  c.status = statusFromPb(p.status());
  c.notes = p.notes();
  c.output = p.output();
  c.serviceId = p.service_id();
  c.serviceName = p.service_name();
  c.serviceTags.assign(p.service_tags().begin(), p.service_tags().end());
  c.type = p.type();
  const auto& d = p.definition();
  auto& def = c.definition;
  def.http = d.http();
  def.method = d.method();
  for (const auto& [k, hv] : d.header())
    def.header[k].assign(hv.values().begin(), hv.values().end());
  def.body = d.body();
  def.tcp = d.tcp();
  def.args.assign(d.args().begin(), d.args().end());
  def.interval = d.interval();
  def.timeout = d.timeout();
  def.ttl = d.ttl();
  def.deregisterCriticalServiceAfter = d.deregister_critical_service_after();
  def.tlsSkipVerify = d.tls_skip_verify();
  def.tlsServerName = d.tls_server_name();
  def.successBeforePassing = d.success_before_passing();
  def.failuresBeforeWarning = d.failures_before_warning();
  def.failuresBeforeCritical = d.failures_before_critical();
  def.grpc = d.grpc();
  def.grpcUseTls = d.grpc_use_tls();
  indexesFromPb(p, c);
  return c;
}

void toPb(const acl::Policy& x, pb::AclPolicyRec* p) {
  p->set_id(x.id);
  p->set_name(x.name);
  p->set_description(x.description);
  p->set_rules(x.rules);
  indexesToPb(x, p);
}

acl::Policy fromPb(const pb::AclPolicyRec& p) {
  return {p.id(), p.name(), p.description(), p.rules(), p.create_index(), p.modify_index()};
}

void toPb(const acl::Token& x, pb::AclTokenRec* p) {
  p->set_accessor_id(x.accessorId);
  p->set_secret_id(x.secretId);
  p->set_description(x.description);
  for (const auto& id : x.policyIds) p->add_policy_ids(id);
  p->set_local(x.local);
  p->set_create_time(x.createTime);
  indexesToPb(x, p);
}

acl::Token fromPb(const pb::AclTokenRec& p) {
  acl::Token t;
  t.accessorId = p.accessor_id();
  t.secretId = p.secret_id();
  t.description = p.description();
  t.policyIds.assign(p.policy_ids().begin(), p.policy_ids().end());
  t.local = p.local();
  t.createTime = p.create_time();
  indexesFromPb(p, t);
  return t;
}

void toPb(const acl::AclState& s, pb::AclStateRec* p) {
  p->set_bootstrapped(s.bootstrapped);
  p->set_index(s.index);
  for (const auto& [id, x] : s.policies) toPb(x, p->add_policies());
  for (const auto& [id, x] : s.tokens) toPb(x, p->add_tokens());
}

acl::AclState fromPb(const pb::AclStateRec& p) {
  acl::AclState s;
  s.bootstrapped = p.bootstrapped();
  s.index = p.index();
  for (const auto& x : p.policies()) s.policies[x.id()] = fromPb(x);
  for (const auto& x : p.tokens()) s.tokens[x.accessor_id()] = fromPb(x);
  return s;
}

void toPb(const CheckStatusCommand& s, pb::CheckStatusCmd* p) {
  p->set_node(s.node);
  p->set_check_id(s.checkId);
  p->set_status(static_cast<int32_t>(s.status));
  p->set_output(s.output);
}

CheckStatusCommand fromPb(const pb::CheckStatusCmd& p) {
  return {p.node(), p.check_id(), statusFromPb(p.status()), p.output()};
}

}  // namespace

// A record's bytes as a store row, and back. Outside the unnamed namespace,
// so that the toPb and fromPb of connect_pb.hpp are seen too.
template <typename P, typename T>
static std::string encodeAs(const T& x) {
  P p;
  toPb(x, &p);
  return serializePb(p);
}

template <typename P>
static auto decodeAs(std::string_view bytes, const char* what) -> Result<decltype(fromPb(P{}))> {
  P p;
  if (!parsePb(p, bytes)) return corruption(std::string(what) + " row does not parse");
  return fromPb(p);
}

uint32_t commandVersion(const Command& cmd) {
  if (std::holds_alternative<AclCommand>(cmd) || std::holds_alternative<CaSetCommand>(cmd) ||
      std::holds_alternative<IntentionPutCommand>(cmd) ||
      std::holds_alternative<IntentionDeleteCommand>(cmd))
    return 4;
  if (const auto* r = std::get_if<RegisterCommand>(&cmd)) {
    for (const auto& c : r->checks)
      if (!c.definition.grpc.empty() || c.definition.grpcUseTls) return 3;
  }
  return std::holds_alternative<CheckStatusBatchCommand>(cmd) ? 2 : 1;
}

std::string encodeCommand(const Command& cmd) {
  pb::Command p;
  p.set_version(commandVersion(cmd));
  if (const auto* r = std::get_if<RegisterCommand>(&cmd)) {
    auto* pr = p.mutable_register_();
    toPb(r->node, pr->mutable_node());
    pr->set_skip_node_update(r->skipNodeUpdate);
    if (r->service) {
      pr->set_with_service(true);
      toPb(*r->service, pr->mutable_service());
    }
    for (const auto& c : r->checks) toPb(c, pr->add_checks());
  } else if (const auto* d = std::get_if<DeregisterCommand>(&cmd)) {
    auto* pd = p.mutable_deregister();
    pd->set_node(d->node);
    pd->set_service_id(d->serviceId);
    pd->set_check_id(d->checkId);
  } else if (const auto* s = std::get_if<CheckStatusCommand>(&cmd)) {
    toPb(*s, p.mutable_check_status());
  } else if (const auto* r = std::get_if<RestoreCommand>(&cmd)) {
    p.mutable_restore()->set_payload(r->payload);
  } else if (const auto* b = std::get_if<CheckStatusBatchCommand>(&cmd)) {
    auto* pb = p.mutable_check_status_batch();
    for (const auto& s : b->updates) toPb(s, pb->add_updates());
  } else if (const auto* a = std::get_if<AclCommand>(&cmd)) {
    auto* pa = p.mutable_acl();
    pa->set_op(static_cast<int32_t>(a->op));
    toPb(a->policy, pa->mutable_policy());
    toPb(a->token, pa->mutable_token());
    pa->set_id(a->id);
  } else if (const auto* c = std::get_if<CaSetCommand>(&cmd)) {
    toPb(c->state, p.mutable_ca_set()->mutable_state());
    p.mutable_ca_set()->set_expect_modify_index(c->expectModifyIndex);
  } else if (const auto* i = std::get_if<IntentionPutCommand>(&cmd)) {
    auto* pi = p.mutable_intention_put();
    toPb(i->intention, pi->mutable_intention());
    pi->set_by_name(i->byName);
    pi->set_must_exist(i->mustExist);
  } else if (const auto* d = std::get_if<IntentionDeleteCommand>(&cmd)) {
    auto* pd = p.mutable_intention_delete();
    pd->set_id(d->id);
    pd->set_source_name(d->sourceName);
    pd->set_destination_name(d->destinationName);
  }
  return serializePb(p);
}

Result<Command> decodeCommand(std::string_view bytes) {
  pb::Command p;
  if (!parsePb(p, bytes)) return corruption("command does not parse");
  if (p.version() > kCommandVersion)
    return corruption("command version " + std::to_string(p.version()) +
                      " is newer than this binary understands (" + std::to_string(kCommandVersion) +
                      ")");
  switch (p.cmd_case()) {
    case pb::Command::kRegister: {
      RegisterCommand r;
      r.node = fromPb(p.register_().node());
      r.skipNodeUpdate = p.register_().skip_node_update();
      if (p.register_().with_service()) r.service = fromPb(p.register_().service());
      for (const auto& c : p.register_().checks()) r.checks.push_back(fromPb(c));
      return Command(std::move(r));
    }
    case pb::Command::kDeregister:
      return Command(DeregisterCommand{p.deregister().node(), p.deregister().service_id(),
                                       p.deregister().check_id()});
    case pb::Command::kCheckStatus:
      return Command(fromPb(p.check_status()));
    case pb::Command::kCheckStatusBatch: {
      CheckStatusBatchCommand b;
      b.updates.reserve(p.check_status_batch().updates_size());
      for (const auto& u : p.check_status_batch().updates()) b.updates.push_back(fromPb(u));
      return Command(std::move(b));
    }
    case pb::Command::kRestore:
      return Command(RestoreCommand{std::move(*p.mutable_restore()->mutable_payload())});
    case pb::Command::kAcl: {
      const auto& pa = p.acl();
      if (pa.op() < 0 || pa.op() > static_cast<int32_t>(AclCommand::Op::kDeleteToken))
        return corruption("ACL command of unknown kind");
      AclCommand a;
      a.op = static_cast<AclCommand::Op>(pa.op());
      a.policy = fromPb(pa.policy());
      a.token = fromPb(pa.token());
      a.id = pa.id();
      return Command(std::move(a));
    }
    case pb::Command::kCaSet:
      return Command(CaSetCommand{fromPb(p.ca_set().state()), p.ca_set().expect_modify_index()});
    case pb::Command::kIntentionPut:
      return Command(IntentionPutCommand{fromPb(p.intention_put().intention()),
                                         p.intention_put().by_name(),
                                         p.intention_put().must_exist()});
    case pb::Command::kIntentionDelete:
      return Command(IntentionDeleteCommand{p.intention_delete().id(),
                                            p.intention_delete().source_name(),
                                            p.intention_delete().destination_name()});
    default:
      return corruption("command of unknown kind");
  }
}

std::string encodeNode(const Node& n) {
  return encodeAs<pb::NodeRec>(n);
}
std::string encodeService(const Service& s) {
  return encodeAs<pb::ServiceRec>(s);
}
std::string encodeCheck(const Check& c) {
  return encodeAs<pb::CheckRec>(c);
}
std::string encodeAclState(const acl::AclState& s) {
  return encodeAs<pb::AclStateRec>(s);
}
std::string encodeCaState(const CaState& s) {
  return encodeAs<pb::CaStateRec>(s);
}
std::string encodeIntention(const Intention& i) {
  return encodeAs<pb::IntentionRec>(i);
}

Result<Node> decodeNode(std::string_view b) {
  return decodeAs<pb::NodeRec>(b, "node");
}
Result<Service> decodeService(std::string_view b) {
  return decodeAs<pb::ServiceRec>(b, "service");
}
Result<Check> decodeCheck(std::string_view b) {
  return decodeAs<pb::CheckRec>(b, "check");
}
Result<acl::AclState> decodeAclState(std::string_view b) {
  return decodeAs<pb::AclStateRec>(b, "ACL state");
}
Result<CaState> decodeCaState(std::string_view b) {
  return decodeAs<pb::CaStateRec>(b, "CA");
}
Result<Intention> decodeIntention(std::string_view b) {
  return decodeAs<pb::IntentionRec>(b, "intention");
}

}  // namespace cairn::registry
