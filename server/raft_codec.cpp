#include "server/raft_codec.hpp"

#include <cmath>

#include "server/raft_wire.pb.h"

namespace cairn::server {
namespace {

void toPb(const raft::ConfState& c, pb::ConfState* p) {
  for (auto v : c.voters) p->add_voters(v);
  for (auto l : c.learners) p->add_learners(l);
}

raft::ConfState fromPb(const pb::ConfState& p) {
  return {{p.voters().begin(), p.voters().end()}, {p.learners().begin(), p.learners().end()}};
}

}  // namespace

std::string encodeFrame(const Frame& f) {
  pb::Frame frame;
  frame.set_version(kWireVersion);
  if (const auto* h = std::get_if<PeerHello>(&f)) {
    auto* p = frame.mutable_hello();
    p->set_raft_id(h->raftId);
    p->set_address(h->address);
    p->set_cluster_id(h->clusterId);
    p->set_node_name(h->nodeName);
    for (const auto& k : h->known) {
      auto* pk = p->add_known();
      pk->set_raft_id(k.raftId);
      pk->set_address(k.address);
      pk->set_node_name(k.nodeName);
    }
    p->set_incarnation(h->incarnation);
    p->set_leaving(h->leaving);
    p->set_command_version(h->commandVersion);
  } else if (const auto* l = std::get_if<LoadReports>(&f)) {
    auto* p = frame.mutable_loads();
    p->set_from(l->from);
    for (const auto& r : l->reports) {
      auto* pr = p->add_reports();
      pr->set_node(r.node);
      pr->set_service_id(r.serviceId);
      pr->set_load(r.load);
      pr->set_ttl_ms(r.ttlMs);
    }
  } else if (const auto* t = std::get_if<TtlReports>(&f)) {
    auto* p = frame.mutable_ttls();
    p->set_from(t->from);
    for (const auto& r : t->reports) {
      auto* pr = p->add_reports();
      pr->set_node(r.node);
      pr->set_check_id(r.checkId);
      pr->set_status(static_cast<uint32_t>(r.status));
      pr->set_output(r.output);
    }
  } else if (std::holds_alternative<UnknownFrame>(f)) {
    // Nothing to say: encodes as a frame with no body.
  } else {
    const auto& m = std::get<raft::Message>(f);
    auto* p = frame.mutable_raft();
    p->set_type(static_cast<uint32_t>(m.type));
    p->set_from(m.from);
    p->set_to(m.to);
    p->set_term(m.term);
    p->set_log_term(m.logTerm);
    p->set_index(m.index);
    for (const auto& e : m.entries) {
      auto* pe = p->add_entries();
      pe->set_term(e.term);
      pe->set_index(e.index);
      pe->set_type(static_cast<uint32_t>(e.type));
      pe->set_data(e.data);
    }
    p->set_commit(m.commit);
    p->set_reject(m.reject);
    p->set_reject_hint(m.rejectHint);
    auto* sm = p->mutable_snap_meta();
    sm->set_index(m.snapMeta.index);
    sm->set_term(m.snapMeta.term);
    toPb(m.snapMeta.conf, sm->mutable_conf());
    p->set_snap_offset(m.snapOffset);
    p->set_snap_size(m.snapSize);
    p->set_snap_chunk(m.snapChunk);
    p->set_transfer(m.transfer);
    p->set_context(m.context);
  }
  std::string body;
  frame.SerializeToString(&body);
  std::string out(4, '\0');
  uint32_t n = static_cast<uint32_t>(body.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  return out + body;
}

Result<Frame> decodeFrame(std::string_view body) {
  pb::Frame frame;
  if (!frame.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return invalidArgument("frame does not parse");
  if (frame.version() > kWireVersion)
    return invalidArgument("peer speaks wire version " + std::to_string(frame.version()) +
                           ", newer than this server's " + std::to_string(kWireVersion));
  if (frame.has_hello()) {
    const auto& h = frame.hello();
    if (h.raft_id() == 0 || h.address().empty() || h.address().size() > 256)
      return invalidArgument("hello without a valid id or address");
    if (h.known_size() > static_cast<int>(kMaxKnownPeers))
      return invalidArgument("hello lists too many servers");
    PeerHello out{
        h.raft_id(), h.address(),     h.cluster_id(), h.node_name(),
        {},          h.incarnation(), h.leaving(),    std::max<uint32_t>(h.command_version(), 1)};
    for (const auto& k : h.known()) {
      if (k.raft_id() == 0 || k.address().empty() || k.address().size() > 256)
        return invalidArgument("hello lists a server without a valid id or address");
      out.known.push_back({k.raft_id(), k.address(), k.node_name()});
    }
    return Frame(std::move(out));
  }
  if (frame.has_loads()) {
    const auto& p = frame.loads();
    if (p.from() == 0) return invalidArgument("load reports without a sender");
    if (p.reports_size() > static_cast<int>(kMaxLoadReportsPerFrame))
      return invalidArgument("too many load reports in one frame");
    LoadReports out{p.from(), {}};
    out.reports.reserve(static_cast<size_t>(p.reports_size()));
    for (const auto& r : p.reports()) {
      if (!std::isfinite(r.load()) || r.load() < 0 || r.service_id().empty() ||
          r.node().size() > 512 || r.service_id().size() > 512)
        return invalidArgument("invalid load report");
      out.reports.push_back({r.node(), r.service_id(), r.load(), r.ttl_ms()});
    }
    return Frame(std::move(out));
  }
  if (frame.has_ttls()) {
    const auto& p = frame.ttls();
    if (p.from() == 0) return invalidArgument("TTL reports without a sender");
    if (p.reports_size() > static_cast<int>(kMaxTtlReportsPerFrame))
      return invalidArgument("too many TTL reports in one frame");
    TtlReports out{p.from(), {}};
    out.reports.reserve(static_cast<size_t>(p.reports_size()));
    for (const auto& r : p.reports()) {
      if (r.status() > static_cast<uint32_t>(registry::HealthStatus::kCritical) ||
          r.node().empty() || r.check_id().empty() || r.node().size() > 512 ||
          r.check_id().size() > 512 || r.output().size() > kMaxTtlOutputBytes)
        return invalidArgument("invalid TTL report");
      out.reports.push_back(
          {r.node(), r.check_id(), static_cast<registry::HealthStatus>(r.status()), r.output()});
    }
    return Frame(std::move(out));
  }
  // A body of a newer wire format (same version, a field added): skip it.
  if (!frame.has_raft()) return Frame(UnknownFrame{});
  const auto& p = frame.raft();
  if (p.type() > static_cast<uint32_t>(raft::MsgType::kReadIndexResp))
    return invalidArgument("unknown raft message type " + std::to_string(p.type()));
  raft::Message m;
  m.type = static_cast<raft::MsgType>(p.type());
  if (m.type == raft::MsgType::kHup || m.type == raft::MsgType::kBeat ||
      m.type == raft::MsgType::kCheckQuorum)
    return invalidArgument("local raft message type on the wire");
  m.from = p.from();
  m.to = p.to();
  if (m.from == 0 || m.to == 0) return invalidArgument("raft message without from/to");
  m.term = p.term();
  m.logTerm = p.log_term();
  m.index = p.index();
  for (const auto& e : p.entries()) {
    if (e.type() > 1) return invalidArgument("unknown entry type");
    m.entries.push_back({e.term(), e.index(), static_cast<raft::EntryType>(e.type()), e.data()});
  }
  m.commit = p.commit();
  m.reject = p.reject();
  m.rejectHint = p.reject_hint();
  m.snapMeta = {p.snap_meta().index(), p.snap_meta().term(), fromPb(p.snap_meta().conf())};
  m.snapOffset = p.snap_offset();
  m.snapSize = p.snap_size();
  m.snapChunk = p.snap_chunk();
  // Only a chunk carries the snapshot's size; a kSnapResp names the next
  // offset wanted and has no size (checking it closed the connection on
  // every response, so a snapshot of more than one chunk never arrived).
  if (m.type == raft::MsgType::kSnap &&
      (m.snapOffset > m.snapSize || m.snapChunk.size() > m.snapSize - m.snapOffset))
    return invalidArgument("snapshot chunk out of bounds");
  m.transfer = p.transfer();
  m.context = p.context();
  return Frame(std::move(m));
}

}  // namespace cairn::server
