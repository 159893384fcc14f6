// The cluster's servers: /v1/agent/members, join and leave, and
// /v1/operator/raft/* and autopilot health, as Consul names them.
#include <boost/json.hpp>
#include <thread>

#include "http/api.hpp"
#include "http/encode.hpp"

namespace cairn::http {
namespace json = boost::json;

namespace {

// Serf's member status codes, which Consul reports.
int memberStatus(const std::string& s) {
  if (s == "alive") return 1;
  if (s == "left") return 3;
  return 4;  // failed
}

Outcome afterOp(std::function<void(registry::Replicator::OpDone)> op,
                std::function<Response()> onOk) {
  return Deferred{
      [op = std::move(op), onOk = std::move(onOk)](std::function<void(Response)> respond) {
        op([respond = std::move(respond), onOk](Status st) {
          if (!st.ok()) return respond(errorResponse(st.error()));
          respond(onOk());
        });
      }};
}

}  // namespace

Outcome Api::agentMembers(const Request&, const std::string&) {
  // There is no gossip pool: the members are the servers of the Raft
  // configuration, with their status as the leader sees them.
  auto live = replicator_.liveness();
  json::array out;
  for (const auto& srv : replicator_.servers()) {
    auto colon = srv.address.rfind(':');
    json::object m{
        {"Name", srv.node},
        {"Addr", srv.address.substr(0, colon)},
        {"Port", colon == std::string::npos ? 0 : std::atoi(srv.address.c_str() + colon + 1)},
        {"Tags", json::object{{"role", "consul"},
                              {"dc", self_.datacenter},
                              {"id", srv.id},
                              {"voter", srv.voter ? "1" : "0"}}},
        {"Status", memberStatus(srv.status)}};
    out.push_back(std::move(m));
  }
  auto r = Response::json(serialize(out));
  r.headers.emplace_back("X-Cairn-Liveness-Epoch", std::to_string(live.epoch));
  if (live.stale) r.headers.emplace_back("X-Cairn-Liveness-Stale", "true");
  return r;
}

Outcome Api::operatorRaftConfiguration(const Request&, const std::string&) {
  json::array servers;
  for (const auto& srv : replicator_.servers())
    servers.push_back(json::object{{"ID", srv.id},
                                   {"Node", srv.node},
                                   {"Address", srv.address},
                                   {"Leader", srv.leader},
                                   {"Voter", srv.voter},
                                   {"ProtocolVersion", "3"}});
  return Response::json(
      serialize(json::object{{"Servers", std::move(servers)}, {"Index", hub_.view()->index}}));
}

// GET /v1/operator/autopilot/health, in Consul's shape, from the liveness
// view this server has (the leader's, as last published).
Outcome Api::operatorAutopilotHealth(const Request&, const std::string&) {
  auto live = replicator_.liveness();
  auto servers = replicator_.servers();
  json::array out;
  size_t voters = 0, healthyVoters = 0;
  for (const auto& srv : servers) {
    bool healthy = srv.status == "alive" && !live.stale;
    if (srv.voter) ++voters, healthyVoters += healthy;
    out.push_back(json::object{{"ID", srv.id},
                               {"Name", srv.node},
                               {"Address", srv.address},
                               {"SerfStatus", srv.status},
                               {"Leader", srv.leader},
                               {"Voter", srv.voter},
                               {"Healthy", healthy},
                               {"LastContact", std::to_string(srv.lastContactMs) + "ms"},
                               {"LastIndex", srv.matchIndex}});
  }
  size_t quorum = voters / 2 + 1;
  int64_t tolerance = static_cast<int64_t>(healthyVoters) - static_cast<int64_t>(quorum);
  bool healthy = !live.stale && voters > 0 && healthyVoters == voters;
  json::object body{{"Healthy", healthy},
                    {"FailureTolerance", std::max<int64_t>(0, tolerance)},
                    {"Servers", std::move(out)},
                    {"Epoch", live.epoch},
                    {"Stale", live.stale}};
  auto r = Response::json(serialize(body));
  if (!healthy) r.status = 429;  // as Consul answers when unhealthy
  return r;
}

Outcome Api::agentJoin(const Request&, const std::string& address) {
  Status st = replicator_.join(address);
  if (!st.ok()) return errorResponse(st.error());
  return Response::json("");
}

Outcome Api::agentLeave(const Request&, const std::string&) {
  auto onLeave = opts_.onLeave;
  return afterOp([this](registry::Replicator::OpDone d) { replicator_.leave(std::move(d)); },
                 [onLeave] {
                   // The agent stops after answering, as Consul's does.
                   if (onLeave) onLeave();
                   return Response::json("");
                 });
}

Outcome Api::operatorRaftPeerDelete(const Request& req, const std::string&) {
  const std::string* id = req.param("id");
  const std::string* address = req.param("address");
  if ((!id || id->empty()) && (!address || address->empty()))
    return Response::text(400,
                          "Must specify either ?id with the server's ID or ?address with "
                          "IP:port of peer to remove");
  std::string target = id && !id->empty() ? *id : *address;
  return afterOp(
      [this, target](registry::Replicator::OpDone d) {
        replicator_.removePeer(target, std::move(d));
      },
      [] { return Response::json(""); });
}

Outcome Api::operatorTransferLeader(const Request& req, const std::string&) {
  const std::string* id = req.param("id");
  std::string target = id ? *id : "";
  return afterOp(
      [this, target](registry::Replicator::OpDone d) {
        replicator_.transferLeader(target, std::move(d));
      },
      [] { return Response::json("{\"Success\":true}"); });
}

}  // namespace cairn::http
