#include "server/raft_replicator.hpp"

#include <algorithm>
#include <random>

#include "common/log.hpp"
#include "registry/snapshot.hpp"

namespace cairn::server {
namespace {

constexpr size_t kIdBytes = 16;

std::string proposalId(raft::NodeId self, uint64_t n) {
  std::string id(kIdBytes, '\0');
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<char>((self >> (56 - 8 * i)) & 0xff);
    id[8 + i] = static_cast<char>((n >> (56 - 8 * i)) & 0xff);
  }
  return id;
}

}  // namespace

RaftReplicator::RaftReplicator(const RaftReplicatorConfig& cfg, storage::Db& db,
                               registry::Catalog& catalog)
    : cfg_(cfg), db_(db), catalog_(catalog) {}

Result<std::unique_ptr<RaftReplicator>> RaftReplicator::create(const RaftReplicatorConfig& cfg,
                                                               storage::Db& db,
                                                               registry::Catalog& catalog) {
  std::unique_ptr<RaftReplicator> r(new RaftReplicator(cfg, db, catalog));
  auto st = storage::RaftStorage::open(db);
  if (!st.ok()) return st.error();
  r->storage_ = std::move(*st);
  // Peers may connect as soon as the transport listens; their hellos and
  // messages wait on mu_ until transport_ and the addresses are set.
  std::unique_lock wiring(r->mu_);
  auto t = Transport::create({cfg.bindAddress, cfg.port, 4096}, *r);
  if (!t.ok()) return t.error();
  r->transport_ = std::move(*t);
  // The advertised address carries the port actually bound (port 0 in tests).
  if (r->cfg_.advertise.find(':') == std::string::npos)
    r->cfg_.advertise += ":" + std::to_string(r->transport_->port());
  auto cid = db.getMeta("cluster_id");
  if (!cid.ok()) return cid.error();
  r->clusterId_ = *cid;
  r->addresses_[cfg.raftId] = r->cfg_.advertise;
  wiring.unlock();
  if (!r->storage_->isEmpty()) {
    Status s = r->startNode({});
    if (!s.ok()) return s.error();
  }
  r->transport_->setHello({cfg.raftId, r->cfg_.advertise, r->clusterId_, cfg.nodeName});
  for (const auto& a : cfg.retryJoin)
    if (a != r->cfg_.advertise) r->transport_->connect(a);
  r->publishStatus();
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

RaftReplicator::~RaftReplicator() {
  shutdown();
}

Status RaftReplicator::startNode(const std::vector<raft::NodeId>& peers) {
  raft::Config rc;
  rc.id = cfg_.raftId;
  rc.peers = peers;
  rc.electionTick = cfg_.electionTicks;
  rc.heartbeatTick = 1;
  rc.applied = catalog_.appliedIndex();
  rc.seed = cfg_.raftId ^ static_cast<uint64_t>(std::random_device()());
  auto n = raft::RawNode::create(rc, *storage_);
  if (!n.ok()) return n.error();
  node_ = std::move(*n);
  lastSnapshot_ = 0;
  // A snapshot point at what the catalog holds now, for lagging peers.
  uint64_t applied = catalog_.appliedIndex();
  if (applied > 0 && applied >= storage_->firstIndex() - 1) {
    auto term = storage_->term(applied);
    if (term.ok()) {
      auto view = catalog_.view();
      storage_->setSnapshot(applied, *term, storage_->initialState().conf,
                            [view] { return registry::serializeView(*view); });
      lastSnapshot_ = applied;
    }
  }
  return {};
}

void RaftReplicator::propose(std::string command, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      auto now = std::chrono::steady_clock::now();
      incoming_.push_back({std::move(command), std::move(done), now + cfg_.proposalTimeout,
                           now + cfg_.noLeaderTimeout});
      cv_.notify_one();
      return;
    }
  }
  done(unavailable("server is shutting down"));
}

std::string RaftReplicator::leader() const {
  std::lock_guard lock(statusMu_);
  return leaderAddress_;
}

std::vector<std::string> RaftReplicator::peers() const {
  std::lock_guard lock(statusMu_);
  return peerAddresses_;
}

std::vector<registry::Replicator::ServerInfo> RaftReplicator::servers() const {
  std::lock_guard lock(statusMu_);
  return servers_;
}

void RaftReplicator::onHello(const PeerHello& hello) {
  bool fresh = false;
  {
    std::lock_guard lock(mu_);
    auto& a = addresses_[hello.raftId];
    fresh = a != hello.address;
    a = hello.address;
    peerClusters_[hello.raftId] = hello.clusterId;
    peerNames_[hello.raftId] = hello.nodeName;
    cv_.notify_one();
  }
  if (fresh && hello.raftId != cfg_.raftId) transport_->connect(hello.address);
}

void RaftReplicator::readBarrier(std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      incomingReads_.push_back(
          {std::move(done), std::chrono::steady_clock::now() + cfg_.noLeaderTimeout, 0});
      cv_.notify_one();
      return;
    }
  }
  done(unavailable("server is shutting down"));
}

uint64_t RaftReplicator::lastContactMs() const {
  int64_t last = lastContactNs_.load(std::memory_order_relaxed);
  if (last == 0) return 0;
  auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return static_cast<uint64_t>(std::max<int64_t>(0, now - last) / 1'000'000);
}

void RaftReplicator::serveReads(const std::vector<raft::ReadState>& states) {
  for (const auto& rs : states) {
    auto it = readsInFlight_.find(rs.context);
    if (it != readsInFlight_.end()) it->second.index = std::max<uint64_t>(rs.index, 1);
  }
  uint64_t applied = catalog_.appliedIndex();
  for (auto it = readsInFlight_.begin(); it != readsInFlight_.end();) {
    if (it->second.index != 0 && applied >= it->second.index) {
      it->second.done({});
      it = readsInFlight_.erase(it);
    } else {
      ++it;
    }
  }
}

void RaftReplicator::onMessage(raft::Message m) {
  std::lock_guard lock(mu_);
  if (m.to != cfg_.raftId) return;
  inbox_.push_back(std::move(m));
  cv_.notify_one();
}

bool RaftReplicator::maybeBootstrap() {
  std::vector<raft::NodeId> ids;
  std::map<raft::NodeId, std::string> clusters;
  {
    std::lock_guard lock(mu_);
    if (cfg_.bootstrapExpect <= 0 || addresses_.size() < static_cast<size_t>(cfg_.bootstrapExpect))
      return false;
    clusters = peerClusters_;
    for (const auto& [id, addr] : addresses_) ids.push_back(id);
  }
  // Every founding server sees the same set, picks the same members and so
  // derives the same cluster ID.
  ids.resize(static_cast<size_t>(cfg_.bootstrapExpect));
  if (std::find(ids.begin(), ids.end(), cfg_.raftId) == ids.end()) return false;
  uint64_t h = 1469598103934665603ull;
  for (auto id : ids) h = (h ^ id) * 1099511628211ull;
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  for (const auto& [id, cluster] : clusters)
    if (!cluster.empty() && cluster != buf)
      return false;  // another cluster exists: wait to be added
  clusterId_ = buf;
  if (!db_.putMeta("cluster_id", clusterId_).ok()) return false;
  if (!startNode(ids).ok()) return false;
  transport_->setHello({cfg_.raftId, cfg_.advertise, clusterId_, cfg_.nodeName});
  log::get("raft")->info("bootstrapped cluster_id={} servers={}", clusterId_, ids.size());
  return true;
}

void RaftReplicator::run() {
  auto nextTick = std::chrono::steady_clock::now() + cfg_.tick;
  while (true) {
    std::deque<Proposal> props;
    std::deque<raft::Message> msgs;
    std::deque<ReadWait> reads;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, nextTick, [&] {
        return stopping_ || !incoming_.empty() || !inbox_.empty() || !incomingReads_.empty();
      });
      if (stopping_) break;
      props.swap(incoming_);
      msgs.swap(inbox_);
      reads.swap(incomingReads_);
    }
    for (auto& r : reads) readsWithoutLeader_.push_back(std::move(r));
    auto now = std::chrono::steady_clock::now();
    if (!node_ && !maybeBootstrap()) {
      for (auto& p : props) waitingForLeader_.push_back(std::move(p));
    } else {
      for (auto& m : msgs) {
        if (m.from == node_->softState().lead)
          lastContactNs_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                               std::memory_order_relaxed);
        (void)node_->step(std::move(m));
      }
      for (auto& p : props) waitingForLeader_.push_back(std::move(p));
    }
    // Proposals go to the core while some leader is known; otherwise they
    // wait, and fail like Consul's ("No cluster leader") after a bound.
    while (!waitingForLeader_.empty()) {
      Proposal& p = waitingForLeader_.front();
      if (node_ && node_->softState().lead != raft::kNone) {
        std::string id = proposalId(cfg_.raftId, nextProposal_++);
        Status st = node_->propose(id + p.command);
        if (st.ok()) {
          pending_.emplace(id, std::move(p));
          waitingForLeader_.pop_front();
          continue;
        }
      }
      break;
    }
    for (auto it = waitingForLeader_.begin(); it != waitingForLeader_.end();) {
      if (now >= it->leaderDeadline) {
        it->done(unavailable("No cluster leader"));
        it = waitingForLeader_.erase(it);
      } else {
        ++it;
      }
    }
    // Reads: ask the leader to confirm the commit index (ReadIndex).
    while (!readsWithoutLeader_.empty() && node_ && node_->softState().lead != raft::kNone) {
      std::string ctx = proposalId(cfg_.raftId, nextRead_++);
      node_->readIndex(ctx);
      readsInFlight_.emplace(ctx, std::move(readsWithoutLeader_.front()));
      readsWithoutLeader_.pop_front();
    }
    for (auto it = readsWithoutLeader_.begin(); it != readsWithoutLeader_.end();) {
      if (now >= it->deadline) {
        it->done(unavailable("No cluster leader"));
        it = readsWithoutLeader_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = readsInFlight_.begin(); it != readsInFlight_.end();) {
      if (now >= it->second.deadline) {
        it->second.done(unavailable("No cluster leader: the read could not be confirmed"));
        it = readsInFlight_.erase(it);
      } else {
        ++it;
      }
    }
    if (node_ && node_->softState().role == raft::Role::kLeader)
      lastContactNs_.store(0, std::memory_order_relaxed);
    if (now >= nextTick) {
      if (node_) node_->tick();
      nextTick += cfg_.tick;
      if (nextTick < now) nextTick = now + cfg_.tick;
    }
    while (node_ && node_->hasReady()) handleReady();
    expireProposals(now);
    publishStatus();
  }
  // Answer every request still here, or its HTTP caller waits out the
  // server's drain limit. Queued and leaderless proposals were never proposed.
  std::deque<Proposal> unproposed;
  std::deque<ReadWait> unread;
  {
    std::lock_guard lock(mu_);
    unproposed.swap(incoming_);
    unread.swap(incomingReads_);
  }
  for (auto& p : unproposed) p.done(unavailable("server is shutting down"));
  for (auto& p : waitingForLeader_) p.done(unavailable("server is shutting down"));
  waitingForLeader_.clear();
  for (auto& [id, p] : pending_)
    p.done(unavailable("server is shutting down; the write may or may not be applied"));
  pending_.clear();
  for (auto& r : unread) r.done(unavailable("server is shutting down"));
  for (auto& r : readsWithoutLeader_) r.done(unavailable("server is shutting down"));
  readsWithoutLeader_.clear();
  for (auto& [ctx, r] : readsInFlight_) r.done(unavailable("server is shutting down"));
  readsInFlight_.clear();
}

void RaftReplicator::handleReady() {
  raft::Ready rd = node_->ready();
  // 1. Persist: entries, replaced suffix, hard state, snapshot: one fsync.
  Status st = storage_->save(rd.hardState, rd.entries, rd.snapshot);
  if (!st.ok()) {
    log::get("raft")->critical("cannot persist raft state: {}; stopping", st.error().message);
    std::abort();
  }
  // 2. Send.
  {
    std::lock_guard lock(mu_);
    for (auto& m : rd.messages) {
      auto it = addresses_.find(m.to);
      if (it != addresses_.end()) transport_->send(it->second, m);
    }
  }
  // 3. Apply.
  if (!rd.snapshot.empty()) {
    auto rows = registry::parseSnapshot(rd.snapshot.data);
    if (!rows.ok() || !db_.replaceCatalog(*rows, rd.snapshot.meta.index).ok() ||
        !catalog_.reload().ok()) {
      log::get("raft")->critical("cannot install snapshot at index {}", rd.snapshot.meta.index);
      std::abort();
    }
    log::get("raft")->info("installed snapshot index={} rows={}", rd.snapshot.meta.index,
                           rows->size());
  }
  std::vector<std::pair<Done, Result<uint64_t>>> acks;
  for (const auto& e : rd.committedEntries) applyEntry(e, acks);
  if (!rd.committedEntries.empty()) {
    st = catalog_.flush();
    if (!st.ok()) {
      log::get("raft")->critical("catalog commit failed: {}; stopping", st.error().message);
      std::abort();
    }
  }
  for (auto& [done, r] : acks) done(std::move(r));
  serveReads(rd.readStates);
  node_->advance(rd);
  maybeSnapshot();
}

void RaftReplicator::applyEntry(const raft::Entry& e,
                                std::vector<std::pair<Done, Result<uint64_t>>>& acks) {
  if (e.index <= catalog_.appliedIndex()) return;
  if (e.type == raft::EntryType::kConfChange) {
    auto cc = raft::ConfChange::decode(e.data);
    if (cc) {
      auto conf = node_->applyConfChange(*cc);
      (void)storage_->setConfState(conf);
    }
    catalog_.skip(e.index);
    return;
  }
  if (e.data.size() < kIdBytes) {
    catalog_.skip(e.index);  // the empty entry of a new term
    return;
  }
  std::string id = e.data.substr(0, kIdBytes);
  Status st = catalog_.apply(e.index, std::string_view(e.data).substr(kIdBytes));
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  acks.emplace_back(std::move(it->second.done),
                    st.ok() ? Result<uint64_t>(e.index) : Result<uint64_t>(st.error()));
  pending_.erase(it);
}

void RaftReplicator::expireProposals(std::chrono::steady_clock::time_point now) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now >= it->second.deadline) {
      bool leaderless = !node_ || node_->softState().lead == raft::kNone;
      it->second.done(unavailable(
          leaderless ? "No cluster leader (the write may or may not have been applied)"
                     : "timed out waiting for the cluster; the write may or may not be applied"));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

void RaftReplicator::maybeSnapshot() {
  uint64_t applied = catalog_.appliedIndex();
  if (applied < lastSnapshot_ + cfg_.snapshotEvery) return;
  auto term = storage_->term(applied);
  if (!term.ok()) return;
  auto view = catalog_.view();
  storage_->setSnapshot(applied, *term, node_->raft().conf(),
                        [view] { return registry::serializeView(*view); });
  lastSnapshot_ = applied;
  // The catalog rows of `applied` must be durable before the log goes.
  if (!db_.syncCatalog().ok()) return;
  if (applied > cfg_.keepAfterSnapshot) (void)storage_->compact(applied - cfg_.keepAfterSnapshot);
}

void RaftReplicator::publishStatus() {
  std::string leader;
  std::vector<std::string> peers;
  std::vector<ServerInfo> servers;
  {
    std::lock_guard lock(mu_);
    if (node_) {
      auto lead = node_->softState().lead;
      if (auto it = addresses_.find(lead); it != addresses_.end()) leader = it->second;
      const auto& conf = node_->raft().conf();
      auto add = [&](raft::NodeId id, bool voter) {
        auto a = addresses_.find(id);
        std::string addr = a == addresses_.end() ? "" : a->second;
        if (voter && !addr.empty()) peers.push_back(addr);
        std::string name = id == cfg_.raftId ? cfg_.nodeName : peerNames_[id];
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
        servers.push_back({hex, name, addr, id == lead, voter});
      };
      for (auto v : conf.voters) add(v, true);
      for (auto l : conf.learners) add(l, false);
    }
  }
  std::lock_guard lock(statusMu_);
  leaderAddress_ = std::move(leader);
  peerAddresses_ = std::move(peers);
  servers_ = std::move(servers);
}

void RaftReplicator::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  if (transport_) transport_->stop();
}

}  // namespace cairn::server
