#include "server/raft_replicator.hpp"

#include <algorithm>
#include <charconv>
#include <random>
#include <sstream>

#include "common/log.hpp"
#include "registry/command.hpp"
#include "registry/snapshot.hpp"
#include "server/snapshot_files.hpp"

namespace cairn::server {
namespace {

constexpr size_t kIdBytes = 16;
// Entries whose id starts with eight zero bytes (no server has raft id 0)
// are the cluster's own, not catalog commands; the next eight say which.
constexpr uint64_t kSystemLiveness = 1;
// A learner this close to the leader's commit index is promoted.
constexpr uint64_t kCatchUpSlack = 64;

using Clock = std::chrono::steady_clock;

std::string proposalId(raft::NodeId self, uint64_t n) {
  std::string id(kIdBytes, '\0');
  for (int i = 0; i < 8; ++i) {
    id[i] = static_cast<char>((self >> (56 - 8 * i)) & 0xff);
    id[8 + i] = static_cast<char>((n >> (56 - 8 * i)) & 0xff);
  }
  return id;
}

std::string joinIds(const std::vector<raft::NodeId>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : ",") + formatServerId(id);
  return out;
}

}  // namespace

raft::NodeId raftIdFor(const std::string& nodeId) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : nodeId) h = (h ^ c) * 1099511628211ull;
  return h ? h : 1;
}

std::string formatServerId(raft::NodeId id) {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(id));
  return hex;
}

RaftReplicator::RaftReplicator(const RaftReplicatorConfig& cfg, storage::Db& db,
                               registry::Catalog& catalog)
    : cfg_(cfg), db_(db), catalog_(catalog) {}

Result<std::unique_ptr<RaftReplicator>> RaftReplicator::create(const RaftReplicatorConfig& cfg,
                                                               storage::Db& db,
                                                               registry::Catalog& catalog) {
  std::unique_ptr<RaftReplicator> r(new RaftReplicator(cfg, db, catalog));
  // (The agent does this before loading the catalog; again here for callers
  // that do not, then the catalog is reloaded.)
  if (auto m = db.installMarker(); m.ok() && !m->empty()) {
    if (Status s = resumeInterruptedInstall(db, cfg.snapshotDir); !s.ok()) return s.error();
    if (Status s = catalog.reload(); !s.ok()) return s.error();
  }
  auto st = storage::RaftStorage::open(db);
  if (!st.ok()) return st.error();
  r->storage_ = std::move(*st);
  // Peers may connect as soon as the transport listens; their hellos and
  // messages wait on mu_ until transport_ and the addresses are set.
  std::unique_lock wiring(r->mu_);
  Transport::Config tc;
  tc.bindAddress = cfg.bindAddress;
  tc.port = cfg.port;
  tc.tls = cfg.tls;
  // A frame that waited this long for a peer that is down or not reading
  // is stale (a newer heartbeat or append exists, or a new term began).
  tc.maxFrameAge = 2 * cfg.tick * cfg.electionTicks;
  auto t = Transport::create(tc, *r);
  if (!t.ok()) return t.error();
  r->transport_ = std::move(*t);
  // The advertised address carries the port actually bound (port 0 in tests).
  if (r->cfg_.advertise.find(':') == std::string::npos)
    r->cfg_.advertise += ":" + std::to_string(r->transport_->port());
  auto cid = db.getMeta("cluster_id");
  if (!cid.ok()) return cid.error();
  r->clusterId_ = *cid;
  r->incarnation_ = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                          std::chrono::microseconds(1));
  r->peers_[cfg.raftId] = {r->cfg_.advertise, cfg.nodeName, r->clusterId_,
                           r->incarnation_,   false,        true};
  wiring.unlock();
  if (!r->storage_->isEmpty()) {
    Status s = r->startNode({});
    if (!s.ok()) return s.error();
  }
  r->transport_->setHello(r->makeHello());
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
  if (!cfg_.snapshotDir.empty())
    rc.snapshotSink = [dir = cfg_.snapshotDir] { return fileSnapshotSink(dir); };
  auto n = raft::RawNode::create(rc, *storage_);
  if (!n.ok()) return n.error();
  node_ = std::move(*n);
  lastSnapshot_ = 0;
  // A snapshot point at what the catalog holds now, for lagging peers.
  uint64_t applied = catalog_.appliedIndex();
  if (applied > 0 && applied >= storage_->firstIndex() - 1) {
    auto term = storage_->term(applied);
    if (term.ok()) {
      storage_->setSnapshot(applied, *term, storage_->initialState().conf, snapshotSource());
      lastSnapshot_ = applied;
    }
  }
  return {};
}

void RaftReplicator::propose(std::string command, Done done) {
  if (command.size() > kMaxCommandBytes)
    return done(invalidArgument("command of " + std::to_string(command.size()) +
                                " bytes is larger than the cluster's limit of " +
                                std::to_string(kMaxCommandBytes) + " bytes"));
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      auto now = std::chrono::steady_clock::now();
      incoming_.push_back({std::move(command),
                           std::move(done),
                           now + cfg_.proposalTimeout,
                           now + cfg_.noLeaderTimeout,
                           "",
                           {}});
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
  if (hello.raftId == cfg_.raftId) return;  // our own address in -retry-join
  std::vector<std::string> connectTo;
  bool fresh = false;
  {
    std::lock_guard lock(mu_);
    auto& p = peers_[hello.raftId];
    fresh = !p.direct || p.address != hello.address;
    p = {hello.address, hello.nodeName, hello.clusterId,     hello.incarnation,
         hello.leaving, true,           hello.commandVersion};
    if (fresh) connectTo.push_back(hello.address);
    // Servers the sender knows that we do not: reach them too.
    for (const auto& k : hello.known) {
      if (k.raftId == cfg_.raftId) continue;
      auto [it, added] = peers_.try_emplace(k.raftId);
      if (added || (!it->second.direct && it->second.address != k.address)) {
        it->second.address = k.address;
        it->second.nodeName = k.nodeName;
        connectTo.push_back(k.address);
      }
    }
    cv_.notify_one();
  }
  for (const auto& a : connectTo) transport_->connect(a);
  // Our list of servers grew: tell the others.
  if (fresh) transport_->setHello(makeHello());
}

PeerHello RaftReplicator::makeHello() {
  std::lock_guard lock(mu_);
  PeerHello h{cfg_.raftId, cfg_.advertise, clusterId_, cfg_.nodeName,
              {},          incarnation_,   leaving_,   registry::kCommandVersion};
  for (const auto& [id, p] : peers_) {
    if (id == cfg_.raftId || !p.direct || h.known.size() + 1 >= kMaxKnownPeers) continue;
    h.known.push_back({id, p.address, p.nodeName});
  }
  return h;
}

void RaftReplicator::readBarrier(std::function<void(Status)> done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      incomingReads_.push_back(
          {std::move(done), std::chrono::steady_clock::now() + cfg_.noLeaderTimeout, 0, "", {}});
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
    for (const auto& [id, p] : peers_) {
      if (!p.direct) continue;
      ids.push_back(id);
      clusters[id] = p.clusterId;
    }
    if (cfg_.bootstrapExpect <= 0 || ids.size() < static_cast<size_t>(cfg_.bootstrapExpect))
      return false;
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
  if (!db_.putMeta("cluster_id", buf).ok()) return false;
  {
    std::lock_guard lock(mu_);
    clusterId_ = buf;
    peers_[cfg_.raftId].clusterId = clusterId_;
  }
  if (!startNode(ids).ok()) return false;
  transport_->setHello(makeHello());
  log::get("raft")->info("bootstrapped cluster_id={} servers={}", clusterId_, ids.size());
  return true;
}

// A server with no Raft state that hears from members of an existing
// cluster joins it: it starts with an empty configuration and waits for the
// leader to add it and send it the log (or a snapshot).
bool RaftReplicator::maybeJoinExisting() {
  std::string cluster;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, p] : peers_) {
      if (id == cfg_.raftId || !p.direct || p.clusterId.empty()) continue;
      if (!cluster.empty() && cluster != p.clusterId) {
        log::get("raft")->warn("servers of two clusters ({} and {}) are reachable; waiting",
                               cluster, p.clusterId);
        return false;
      }
      cluster = p.clusterId;
    }
  }
  if (cluster.empty()) return false;
  if (!db_.putMeta("cluster_id", cluster).ok()) return false;
  {
    std::lock_guard lock(mu_);
    clusterId_ = cluster;
    peers_[cfg_.raftId].clusterId = cluster;
  }
  if (!startNode({}).ok()) return false;
  transport_->setHello(makeHello());
  log::get("raft")->info("joining existing cluster_id={}; waiting for the leader to add us",
                         cluster);
  return true;
}

void RaftReplicator::run() {
  auto nextTick = std::chrono::steady_clock::now() + cfg_.tick;
  while (true) {
    std::deque<Proposal> props;
    std::deque<raft::Message> msgs;
    std::deque<ReadWait> reads;
    std::deque<Task> tasks;
    std::deque<std::pair<std::string, bool>> links;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, nextTick, [&] {
        return stopping_ || !incoming_.empty() || !inbox_.empty() || !incomingReads_.empty() ||
               !tasks_.empty() || !linkChanges_.empty();
      });
      if (stopping_) break;
      props.swap(incoming_);
      msgs.swap(inbox_);
      reads.swap(incomingReads_);
      tasks.swap(tasks_);
      links.swap(linkChanges_);
    }
    for (auto& r : reads) readsWithoutLeader_.push_back(std::move(r));
    auto now = std::chrono::steady_clock::now();
    if (!node_ && !maybeBootstrap()) (void)maybeJoinExisting();
    if (node_) {
      for (auto& m : msgs) {
        lastHeard_[m.from] = now;
        if (m.from == node_->softState().lead)
          lastContactNs_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
        (void)node_->step(std::move(m));
      }
    }
    for (auto& p : props) waitingForLeader_.push_back(std::move(p));
    for (auto& t : tasks) t.run();
    std::vector<std::string> lostForwards = takeLinkChanges(std::move(links));
    // Proposals go to the core while some leader is known and reachable;
    // otherwise they wait, and fail like Consul's ("No cluster leader")
    // after a bound.
    std::optional<std::string> target;
    if (!waitingForLeader_.empty()) target = proposalTarget();
    while (target && !waitingForLeader_.empty()) {
      Proposal& p = waitingForLeader_.front();
      std::string id = proposalId(cfg_.raftId, nextProposal_++);
      Status st = node_->propose(id + p.command);
      if (!st.ok()) break;
      p.forwardedTo = *target;
      p.sentUnder = leaderTerm();
      pending_.emplace(id, std::move(p));
      waitingForLeader_.pop_front();
    }
    for (auto it = waitingForLeader_.begin(); it != waitingForLeader_.end();) {
      if (now >= it->leaderDeadline) {
        bool unreachable = node_ && node_->softState().lead != raft::kNone &&
                           node_->softState().lead != cfg_.raftId;
        it->done(unavailable(unreachable ? "No cluster leader (the leader cannot be reached from "
                                           "this server)"
                                         : "No cluster leader"));
        it = waitingForLeader_.erase(it);
      } else {
        ++it;
      }
    }
    // Reads: ask the leader to confirm the commit index (ReadIndex).
    if (!readsWithoutLeader_.empty()) target = proposalTarget();
    while (target && !readsWithoutLeader_.empty()) {
      std::string ctx = proposalId(cfg_.raftId, nextRead_++);
      node_->readIndex(ctx);
      readsWithoutLeader_.front().forwardedTo = *target;
      readsWithoutLeader_.front().sentUnder = leaderTerm();
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
      if (node_) flushLoads();
      nextTick += cfg_.tick;
      if (nextTick < now) nextTick = now + cfg_.tick;
    }
    std::vector<std::string> movedForwards;
    if (node_) movedForwards = takeLeaderChange();
    while (node_ && node_->hasReady()) handleReady();
    failLostForwards(lostForwards);
    failMovedForwards(movedForwards);
    if (node_) {
      reconcileMembers(now);
      maybePublishLiveness(now);
      progressOps(now);
      while (node_->hasReady()) handleReady();
    }
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
  for (auto& w : confWaits_) w.done(unavailable("server is shutting down"));
  confWaits_.clear();
  for (auto& w : transferWaits_) w.done(unavailable("server is shutting down"));
  transferWaits_.clear();
  if (leave_) leave_->done(unavailable("server is shutting down"));
  leave_.reset();
  std::deque<Task> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t.fail(unavailable("server is shutting down"));
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
  const raft::HardState before = storage_->initialState().hard;
  const bool sameTermAndVote =
      !rd.hardState || (rd.hardState->term == before.term && rd.hardState->vote == before.vote);
  // A commit index alone need not be synced (etcd's MustSync): a lost one is
  // learned again from the leader, and the catalog's applied index, written
  // later to the same WAL, is never kept without it.
  const bool mustSync = !rd.entries.empty() || !rd.snapshot.empty() || !sameTermAndVote;
  // Thesis 10.2.1: the leader may send AppendEntries while its own write is
  // still being synced. It counts itself towards commitment, but followers'
  // acknowledgements are stepped only after this Ready (and its sync) is
  // done, so nothing commits before it is durable here. Not when the term or
  // vote changed: those must be on disk before any message that carries them.
  const bool early =
      node_->softState().role == raft::Role::kLeader && sameTermAndVote && rd.snapshot.empty();
  // Committed entries written by earlier (synced) Readies may be applied and
  // acknowledged before this Ready's sync.
  uint64_t durable = storage_->lastIndex();
  if (!rd.entries.empty()) durable = std::min(durable, rd.entries.front().index - 1);
  auto check = [](const Status& st, const char* what) {
    if (st.ok()) return;
    log::get("raft")->critical("{}: {}; stopping", what, st.error().message);
    std::abort();
  };
  // A snapshot to install is first recorded, so that a crash during the
  // install starts it over from the file.
  if (!rd.snapshot.empty() && !cfg_.snapshotDir.empty()) {
    if (auto* file = dynamic_cast<const FileSnapshotData*>(rd.snapshot.data.get())) {
      const auto& m = rd.snapshot.meta;
      auto ids = [](const std::vector<raft::NodeId>& v) {
        std::string out = "-";
        for (auto id : v) out += "," + formatServerId(id);
        return out;
      };
      check(db_.beginCatalogInstall("v1 " + std::to_string(m.index) + " " + std::to_string(m.term) +
                                    " " + ids(m.conf.voters) + " " + ids(m.conf.learners) + " " +
                                    file->path()),
            "cannot record the snapshot install");
    }
  }
  // 1. Persist: entries, replaced suffix, hard state, snapshot: one batch,
  //    synced here unless the leader syncs it after sending and applying.
  check(storage_->save(rd.hardState, rd.entries, rd.snapshot, mustSync && !early),
        "cannot persist raft state");
  size_t applied = 0;
  if (early) {
    sendMessages(rd.messages);
    while (applied < rd.committedEntries.size() && rd.committedEntries[applied].index <= durable)
      ++applied;
    applyCommitted(rd.committedEntries, 0, applied);
    if (mustSync) check(storage_->sync(), "cannot persist raft state");
  } else {
    // 2. Send.
    sendMessages(rd.messages);
  }
  // 3. Apply.
  if (!rd.snapshot.empty()) {
    Status is = installSnapshot(rd.snapshot);
    if (!is.ok()) {
      log::get("raft")->critical("cannot install snapshot at index {}: {}", rd.snapshot.meta.index,
                                 is.error().message);
      std::abort();
    }
  }
  applyCommitted(rd.committedEntries, applied, rd.committedEntries.size());
  serveReads(rd.readStates);
  node_->advance(rd);
  maybeSnapshot();
}

void RaftReplicator::sendMessages(const std::vector<raft::Message>& msgs) {
  std::lock_guard lock(mu_);
  for (const auto& m : msgs) {
    auto it = peers_.find(m.to);
    if (it != peers_.end() && !it->second.address.empty()) transport_->send(it->second.address, m);
  }
}

void RaftReplicator::applyCommitted(const std::vector<raft::Entry>& ents, size_t from, size_t to) {
  if (from >= to) return;
  std::vector<std::pair<Done, Result<uint64_t>>> acks;
  for (size_t i = from; i < to; ++i) applyEntry(ents[i], acks);
  Status st = catalog_.flush();
  if (!st.ok()) {
    log::get("raft")->critical("catalog commit failed: {}; stopping", st.error().message);
    std::abort();
  }
  for (auto& [done, r] : acks) done(std::move(r));
}

void RaftReplicator::applyEntry(const raft::Entry& e,
                                std::vector<std::pair<Done, Result<uint64_t>>>& acks) {
  if (e.index <= catalog_.appliedIndex()) return;
  if (e.type == raft::EntryType::kConfChange) {
    auto cc = raft::ConfChange::decode(e.data);
    if (cc) {
      auto conf = node_->applyConfChange(*cc);
      (void)storage_->setConfState(conf);
      if (cc->type == raft::ConfChangeType::kRemoveNode) {
        std::lock_guard lock(mu_);
        auto p = peers_.find(cc->node);
        removed_[cc->node] = p == peers_.end() ? 0 : p->second.incarnation;
      }
      for (auto it = confWaits_.begin(); it != confWaits_.end();) {
        if (it->cc.type == cc->type && it->cc.node == cc->node) {
          acks.emplace_back([done = std::move(it->done)](Result<uint64_t>) { done({}); },
                            Result<uint64_t>(e.index));
          it = confWaits_.erase(it);
        } else {
          ++it;
        }
      }
      log::get("raft")->info("membership change applied index={} voters=[{}] learners=[{}]",
                             e.index, joinIds(conf.voters), joinIds(conf.learners));
    }
    catalog_.skip(e.index);
    return;
  }
  if (e.data.size() < kIdBytes) {
    catalog_.skip(e.index);  // the empty entry of a new term
    return;
  }
  std::string id = e.data.substr(0, kIdBytes);
  if (id.compare(0, 8, std::string(8, '\0')) == 0) {
    applySystemEntry(std::string_view(e.data).substr(8));
    catalog_.skip(e.index);
    return;
  }
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

// The bytes of the catalog as it is now, produced when a follower needs
// them (into a file when there is a snapshot dir), shared by every follower
// that needs them at the same time.
storage::RaftStorage::SnapshotSource RaftReplicator::snapshotSource() {
  struct Cache {
    std::mutex mu;
    std::weak_ptr<const raft::SnapshotData> data;
  };
  return [view = catalog_.view(), dir = cfg_.snapshotDir,
          cache =
              std::make_shared<Cache>()]() -> Result<std::shared_ptr<const raft::SnapshotData>> {
    std::lock_guard lock(cache->mu);
    if (auto d = cache->data.lock()) return d;
    std::shared_ptr<const raft::SnapshotData> d;
    if (dir.empty()) {
      d = raft::snapshotFromString(registry::serializeView(*view));
    } else {
      auto w = writeViewSnapshot(*view, dir);
      if (!w.ok()) {
        log::get("raft")->error("cannot write a snapshot for a follower: {}", w.error().message);
        return w.error();
      }
      d = std::move(w).value();
    }
    cache->data = d;
    return d;
  };
}

namespace {

// Writes a snapshot's rows into the catalog tables, a batch at a time
// (bounded memory however large the catalog).
Status installRows(storage::Db& db, const raft::Snapshot& snap) {
  uint64_t index = snap.meta.index;
  auto* file = dynamic_cast<const FileSnapshotData*>(snap.data.get());
  size_t rows = 0;
  if (!file) {
    // In memory (no snapshot dir, as small tests run): one batch.
    auto all = registry::parseSnapshot(snap.readAll());
    if (!all.ok()) return all.error();
    rows = all->size();
    if (Status s = db.replaceCatalog(*all, index); !s.ok()) return s;
  } else {
    registry::SnapshotRowReader reader(
        [data = snap.data](uint64_t off, uint64_t n) { return data->read(off, n); }, snap.size());
    while (true) {
      auto batch = reader.next(4 << 20);
      if (!batch.ok()) return batch.error();
      if (batch->empty()) break;
      rows += batch->size();
      if (Status s = db.putCatalogRows(*batch); !s.ok()) return s;
    }
    if (Status s = db.finishCatalogInstall(index); !s.ok()) return s;
    ::unlink(file->path().c_str());  // still readable (for our own followers) until released
  }
  log::get("raft")->info("installed snapshot index={} rows={} bytes={}", index, rows, snap.size());
  return {};
}

}  // namespace

Status RaftReplicator::installSnapshot(const raft::Snapshot& snap) {
  if (Status s = installRows(db_, snap); !s.ok()) return s;
  return catalog_.reload();
}

Status resumeInterruptedInstall(storage::Db& db, const std::string& snapshotDir) {
  auto marker = db.installMarker();
  if (!marker.ok()) return marker.error();
  if (marker->empty()) {
    if (!snapshotDir.empty()) removeStaleSnapshotFiles(snapshotDir, "");
    return {};
  }
  // "v1 <index> <term> -[,voter...] -[,learner...] <path>"
  std::istringstream in(*marker);
  std::string version, voters, learners, path;
  raft::SnapshotMeta meta;
  in >> version >> meta.index >> meta.term >> voters >> learners;
  std::getline(in >> std::ws, path);
  if (version != "v1" || path.empty())
    return corruption("unreadable snapshot install marker \"" + *marker + "\"");
  if (!snapshotDir.empty()) removeStaleSnapshotFiles(snapshotDir, path);
  auto parseIds = [](const std::string& s, std::vector<raft::NodeId>& out) {
    for (size_t pos = 2; pos < s.size();) {
      size_t comma = s.find(',', pos);
      if (comma == std::string::npos) comma = s.size();
      out.push_back(std::strtoull(s.substr(pos, comma - pos).c_str(), nullptr, 16));
      pos = comma + 1;
    }
  };
  parseIds(voters, meta.conf.voters);
  parseIds(learners, meta.conf.learners);
  auto data = FileSnapshotData::open(path);
  if (!data.ok())
    return corruption("a snapshot install was interrupted and its file is gone (" +
                      data.error().message +
                      "); remove the data dir to rejoin the cluster as a new server");
  log::get("raft")->warn("resuming an interrupted snapshot install at index {}", meta.index);
  raft::Snapshot snap{meta, *data};
  auto storage = storage::RaftStorage::open(db);
  if (!storage.ok()) return storage.error();
  if (Status s = (*storage)->save(std::nullopt, {}, snap); !s.ok()) return s;
  if (Status s = db.beginCatalogInstall(*marker); !s.ok()) return s;
  return installRows(db, snap);
}

void RaftReplicator::maybeSnapshot() {
  uint64_t applied = catalog_.appliedIndex();
  if (applied < lastSnapshot_ + cfg_.snapshotEvery) return;
  auto term = storage_->term(applied);
  if (!term.ok()) return;
  storage_->setSnapshot(applied, *term, node_->raft().conf(), snapshotSource());
  lastSnapshot_ = applied;
  // The catalog rows of `applied` must be durable before the log goes.
  if (!db_.syncCatalog().ok()) return;
  if (applied > cfg_.keepAfterSnapshot) (void)storage_->compact(applied - cfg_.keepAfterSnapshot);
}

void RaftReplicator::publishStatus() {
  std::string leader;
  std::vector<std::string> peers;
  std::vector<ServerInfo> servers;
  Liveness live;
  auto now = Clock::now();
  if (node_) {
    auto lead = node_->softState().lead;
    bool isLeader = lead == cfg_.raftId;
    const auto& conf = node_->raft().conf();
    const auto& progress = node_->raft().tracker().all();
    std::set<raft::NodeId> published(publishedLive_.begin(), publishedLive_.end());
    std::lock_guard lock(mu_);
    if (auto it = peers_.find(lead); it != peers_.end()) leader = it->second.address;
    auto add = [&](raft::NodeId id, bool voter) {
      auto p = peers_.find(id);
      std::string addr = p == peers_.end() ? "" : p->second.address;
      if (voter && !addr.empty()) peers.push_back(addr);
      ServerInfo s{formatServerId(id), p == peers_.end() ? "" : p->second.nodeName, addr,
                   id == lead, voter};
      bool alive = isLeader ? (id == cfg_.raftId || heardRecently(id, now)) : published.count(id);
      s.status = (p != peers_.end() && p->second.leaving) ? "left" : alive ? "alive" : "failed";
      if (isLeader && id != cfg_.raftId) {
        auto h = lastHeard_.find(id);
        s.lastContactMs =
            h == lastHeard_.end()
                ? 0
                : static_cast<uint64_t>((now - h->second) / std::chrono::milliseconds(1));
      }
      if (auto pr = progress.find(id); pr != progress.end()) s.matchIndex = pr->second.match;
      servers.push_back(std::move(s));
    };
    for (auto v : conf.voters) add(v, true);
    for (auto l : conf.learners) add(l, false);
    // A command version is used once every server of the configuration has
    // said it applies it (a server not heard from directly counts as 1).
    uint32_t version = registry::kCommandVersion;
    for (const auto& list : {conf.voters, conf.learners})
      for (auto id : list) {
        if (id == cfg_.raftId) continue;
        auto p = peers_.find(id);
        version = std::min(version,
                           p == peers_.end() || !p->second.direct ? 1u : p->second.commandVersion);
      }
    clusterCommandVersion_.store(version, std::memory_order_relaxed);
    live.epoch = (livenessTerm_ << 32) | livenessSeq_;
    for (auto id : publishedLive_) live.live.push_back(formatServerId(id));
    auto electionTimeout = cfg_.tick * cfg_.electionTicks;
    live.stale = !isLeader && (lead == raft::kNone ||
                               std::chrono::milliseconds(lastContactMs()) > 2 * electionTimeout);
  } else {
    live.stale = true;
  }
  std::lock_guard lock(statusMu_);
  leaderAddress_ = std::move(leader);
  peerAddresses_ = std::move(peers);
  servers_ = std::move(servers);
  liveness_ = std::move(live);
}

registry::Replicator::Liveness RaftReplicator::liveness() const {
  std::lock_guard lock(statusMu_);
  return liveness_;
}

bool RaftReplicator::heardRecently(raft::NodeId id, Clock::time_point now) const {
  auto it = lastHeard_.find(id);
  return it != lastHeard_.end() && now - it->second < 2 * cfg_.tick * cfg_.electionTicks;
}

// ---- Soft state: load reports ----

void RaftReplicator::setLoadSink(std::function<void(const LoadReport&)> sink) {
  std::lock_guard lock(mu_);
  loadSink_ = std::move(sink);
}

void RaftReplicator::spreadLoad(LoadReport r) {
  std::lock_guard lock(mu_);
  if (loadsOut_.size() >= 100'000) return;  // soft state: shed rather than grow
  loadsOut_.push_back({std::move(r.node), std::move(r.serviceId), r.load, r.ttlMs});
}

void RaftReplicator::onLoads(LoadReports reports) {
  std::lock_guard lock(mu_);
  if (loadsIn_.size() >= 1'000) return;
  loadsIn_.push_back(std::move(reports));
}

// ---- Soft state: TTL reports, straight to the server running the check ----

void RaftReplicator::setTtlSink(std::function<void(const TtlReport&)> sink) {
  std::lock_guard lock(mu_);
  ttlSink_ = std::move(sink);
}

void RaftReplicator::forwardTtl(const std::string& serverId, TtlReport r) {
  raft::NodeId id = 0;
  auto [end, ec] = std::from_chars(serverId.data(), serverId.data() + serverId.size(), id, 16);
  if (ec != std::errc() || end != serverId.data() + serverId.size()) return;
  std::string address;
  std::function<void(const TtlReport&)> sink;
  {
    std::lock_guard lock(mu_);
    if (id == cfg_.raftId) {
      sink = ttlSink_;
    } else if (auto p = peers_.find(id); p != peers_.end()) {
      address = p->second.address;
    }
  }
  if (sink) return sink(r);
  if (address.empty()) return;
  TtlReports frame{cfg_.raftId, {}};
  frame.reports.push_back({std::move(r.node), std::move(r.checkId), r.status, std::move(r.output)});
  if (frame.reports.back().output.size() > kMaxTtlOutputBytes)
    frame.reports.back().output.resize(kMaxTtlOutputBytes);
  transport_->sendTtls(address, frame);
}

void RaftReplicator::onTtls(TtlReports reports) {
  std::function<void(const TtlReport&)> sink;
  {
    std::lock_guard lock(mu_);
    sink = ttlSink_;
  }
  if (!sink) return;
  for (auto& r : reports.reports)
    sink({std::move(r.node), std::move(r.checkId), r.status, std::move(r.output)});
}

// Once a tick: a follower sends the reports it took to the leader; the
// leader applies what followers sent and sends everything new to every
// other server, which applies it. Reports reach every server within about
// two ticks, and no catalog index moves.
void RaftReplicator::flushLoads() {
  std::vector<server::LoadReport> out;
  std::vector<LoadReports> in;
  std::function<void(const LoadReport&)> sink;
  std::vector<std::string> others;
  std::string leaderAddress;
  auto lead = node_->softState().lead;
  bool isLeader = lead == cfg_.raftId;
  {
    std::lock_guard lock(mu_);
    if (loadsOut_.empty() && loadsIn_.empty()) return;
    out.swap(loadsOut_);
    in.swap(loadsIn_);
    sink = loadSink_;
    const auto& conf = node_->raft().conf();
    for (const auto& list : {conf.voters, conf.learners})
      for (auto id : list)
        if (auto p = peers_.find(id); id != cfg_.raftId && p != peers_.end())
          others.push_back(p->second.address);
    if (auto p = peers_.find(lead); p != peers_.end()) leaderAddress = p->second.address;
  }
  for (auto& batch : in) {
    if (batch.from == cfg_.raftId) continue;
    for (auto& r : batch.reports) {
      if (sink) sink({r.node, r.serviceId, r.load, r.ttlMs});
      // The leader passes followers' reports on; a follower only applies
      // what the leader sends.
      if (isLeader) out.push_back(std::move(r));
    }
  }
  if (out.empty()) return;
  auto sendAll = [&](const std::string& to) {
    for (size_t i = 0; i < out.size(); i += kMaxLoadReportsPerFrame) {
      LoadReports frame{cfg_.raftId, {}};
      frame.reports.assign(
          out.begin() + static_cast<long>(i),
          out.begin() + static_cast<long>(std::min(out.size(), i + kMaxLoadReportsPerFrame)));
      transport_->sendLoads(to, frame);
    }
  };
  if (isLeader) {
    for (const auto& a : others) sendAll(a);
  } else if (!leaderAddress.empty()) {
    sendAll(leaderAddress);
  }
}

// ---- Cluster operations ----

void RaftReplicator::runTask(std::function<void()> task, OpDone onStop) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      tasks_.push_back({std::move(task), std::move(onStop)});
      cv_.notify_one();
      return;
    }
  }
  onStop(unavailable("server is shutting down"));
}

Status RaftReplicator::join(const std::string& address) {
  if (address.empty() || address.find(':') == std::string::npos)
    return invalidArgument("join: expected a server address as ip:port, got \"" + address + "\"");
  {
    std::lock_guard lock(mu_);
    ++incarnation_;  // lets a server that was removed be added again
    peers_[cfg_.raftId].incarnation = incarnation_;
  }
  transport_->setHello(makeHello());
  transport_->connect(address);
  log::get("raft")->info("join: connecting to {}", address);
  return {};
}

std::optional<raft::NodeId> RaftReplicator::resolveMember(const std::string& idOrAddress) {
  const auto& conf = node_->raft().conf();
  std::vector<raft::NodeId> members = conf.voters;
  members.insert(members.end(), conf.learners.begin(), conf.learners.end());
  std::lock_guard lock(mu_);
  for (auto id : members) {
    auto p = peers_.find(id);
    if (formatServerId(id) == idOrAddress || raftIdFor(idOrAddress) == id ||
        (p != peers_.end() && (p->second.address == idOrAddress ||
                               (!p->second.nodeName.empty() && p->second.nodeName == idOrAddress))))
      return id;
  }
  return std::nullopt;
}

void RaftReplicator::removePeer(const std::string& idOrAddress, OpDone done) {
  auto fail = [done](Status s) { done(std::move(s)); };
  runTask(
      [this, idOrAddress, done] {
        if (!node_) return done(unavailable("remove-peer: this server has not joined a cluster"));
        auto id = resolveMember(idOrAddress);
        if (!id)
          return done(notFound("remove-peer: no server with id, name or address \"" + idOrAddress +
                               "\" in the Raft configuration"));
        const auto& conf = node_->raft().conf();
        if (conf.voters.size() == 1 && conf.voters[0] == *id)
          return done(
              invalidArgument("remove-peer: " + idOrAddress +
                              " is the only voter; a cluster cannot remove its last voter"));
        raft::ConfChange cc{raft::ConfChangeType::kRemoveNode, *id};
        Status st = node_->proposeConfChange(cc);
        if (!st.ok()) return done(unavailable("remove-peer: " + st.error().message));
        confWaits_.push_back({cc, done, Clock::now() + cfg_.proposalTimeout});
        log::get("raft")->info("remove-peer: proposed removal of {}", formatServerId(*id));
      },
      fail);
}

// On the leader: the voter with the longest replicated log, the best
// successor (kNone when there is no other voter).
raft::NodeId RaftReplicator::mostUpToDateOtherVoter() const {
  raft::NodeId to = raft::kNone;
  uint64_t best = 0;
  for (const auto& [id, pr] : node_->raft().tracker().all()) {
    if (id == cfg_.raftId || pr.isLearner || pr.match < best) continue;
    best = pr.match;
    to = id;
  }
  return to;
}

void RaftReplicator::transferLeader(const std::string& target, OpDone done) {
  auto fail = [done](Status s) { done(std::move(s)); };
  runTask(
      [this, target, done] {
        if (!node_)
          return done(unavailable("transfer-leader: this server has not joined a cluster"));
        auto lead = node_->softState().lead;
        if (lead == raft::kNone) return done(unavailable("No cluster leader"));
        raft::NodeId to = raft::kNone;
        const auto& conf = node_->raft().conf();
        if (!target.empty()) {
          auto id = resolveMember(target);
          if (!id)
            return done(notFound("transfer-leader: no server \"" + target +
                                 "\" in the Raft configuration"));
          if (std::find(conf.voters.begin(), conf.voters.end(), *id) == conf.voters.end())
            return done(invalidArgument("transfer-leader: " + target + " is not a voter"));
          to = *id;
        } else if (lead == cfg_.raftId) {
          to = mostUpToDateOtherVoter();
        } else {
          to = cfg_.raftId;  // a follower asked with no target: itself
        }
        if (to == raft::kNone)
          return done(invalidArgument("transfer-leader: there is no other voter to transfer to"));
        if (to == lead) return done({});
        node_->transferLeadership(to);
        transferWaits_.push_back({to, done, Clock::now() + 3 * cfg_.tick * cfg_.electionTicks});
        log::get("raft")->info("transfer-leader: asked leadership to move to {}",
                               formatServerId(to));
      },
      fail);
}

void RaftReplicator::leave(OpDone done) {
  auto fail = [done](Status s) { done(std::move(s)); };
  runTask(
      [this, done] {
        if (!node_) return done({});  // never joined: nothing to leave
        const auto& conf = node_->raft().conf();
        bool voter =
            std::find(conf.voters.begin(), conf.voters.end(), cfg_.raftId) != conf.voters.end();
        if (voter && conf.voters.size() == 1)
          return done(invalidArgument(
              "leave: this server is the cluster's only voter; stop it instead of leaving"));
        if (leave_) return done(invalidArgument("leave: already leaving"));
        {
          std::lock_guard lock(mu_);
          leaving_ = true;
          peers_[cfg_.raftId].leaving = true;
        }
        transport_->setHello(makeHello());
        auto now = Clock::now();
        leave_ = LeaveState{done, now + 3 * cfg_.proposalTimeout, now};
        log::get("raft")->info("leave: leaving the cluster");
      },
      fail);
}

// Drives the operations in flight: conf changes and transfers waiting for
// their outcome, and a graceful leave (hand over leadership, then remove
// ourselves).
void RaftReplicator::progressOps(Clock::time_point now) {
  for (auto it = confWaits_.begin(); it != confWaits_.end();) {
    if (now >= it->deadline) {
      it->done(unavailable("the membership change was not applied in time; it may still be"));
      it = confWaits_.erase(it);
    } else {
      ++it;
    }
  }
  auto lead = node_->softState().lead;
  for (auto it = transferWaits_.begin(); it != transferWaits_.end();) {
    if (lead == it->to) {
      it->done({});
      it = transferWaits_.erase(it);
    } else if (now >= it->deadline) {
      it->done(unavailable("leadership did not move to " + formatServerId(it->to) +
                           " in time (it may be behind or unreachable)"));
      it = transferWaits_.erase(it);
    } else {
      ++it;
    }
  }
  if (!leave_) return;
  const auto& conf = node_->raft().conf();
  bool member =
      std::find(conf.voters.begin(), conf.voters.end(), cfg_.raftId) != conf.voters.end() ||
      std::find(conf.learners.begin(), conf.learners.end(), cfg_.raftId) != conf.learners.end();
  if (!member) {
    log::get("raft")->info("leave: removed from the configuration");
    leave_->done({});
    leave_.reset();
    return;
  }
  if (now >= leave_->deadline) {
    leave_->done(unavailable("leave: could not be removed from the configuration in time"));
    leave_.reset();
    return;
  }
  if (now < leave_->retryAt || lead == raft::kNone) return;
  leave_->retryAt = now + 2 * cfg_.tick * cfg_.electionTicks;
  if (lead == cfg_.raftId) {
    if (raft::NodeId to = mostUpToDateOtherVoter(); to != raft::kNone)
      node_->transferLeadership(to);
    return;
  }
  (void)node_->proposeConfChange({raft::ConfChangeType::kRemoveNode, cfg_.raftId});
}

// The leader's autopilot: promote caught-up learners, replace the silent
// old identity of a server that came back under a new one, and add new
// servers as learners. One change at a time.
void RaftReplicator::reconcileMembers(Clock::time_point now) {
  if (node_->softState().role != raft::Role::kLeader || now < nextReconcile_) return;
  nextReconcile_ = now + std::chrono::milliseconds(500);
  const auto& r = node_->raft();
  if (r.confChangePending() || leave_) return;
  const auto& conf = r.conf();
  auto log = log::get("raft");
  for (auto l : conf.learners) {
    const auto* pr = r.tracker().get(l);
    bool leaving;
    {
      std::lock_guard lock(mu_);
      auto p = peers_.find(l);
      leaving = p != peers_.end() && p->second.leaving;
    }
    if (pr && !leaving && heardRecently(l, now) &&
        pr->match + kCatchUpSlack >= r.log().committed()) {
      log->info("autopilot: promoting {} to voter (match={} commit={})", formatServerId(l),
                pr->match, r.log().committed());
      (void)node_->proposeConfChange({raft::ConfChangeType::kAddVoter, l});
      return;
    }
  }
  auto isMember = [&](raft::NodeId id) {
    return std::find(conf.voters.begin(), conf.voters.end(), id) != conf.voters.end() ||
           std::find(conf.learners.begin(), conf.learners.end(), id) != conf.learners.end();
  };
  std::map<raft::NodeId, Peer> peers;
  {
    std::lock_guard lock(mu_);
    peers = peers_;
  }
  for (const auto& [id, p] : peers) {
    if (id == cfg_.raftId || !p.direct || p.leaving || isMember(id)) continue;
    if (!p.clusterId.empty() && p.clusterId != clusterId_) continue;
    if (auto rm = removed_.find(id); rm != removed_.end() && p.incarnation <= rm->second) continue;
    // The same server under a new identity (lost data dir): replace the old.
    raft::NodeId old = raft::kNone;
    bool clash = false;
    for (const auto& [oid, op] : peers) {
      if (oid == id || oid == cfg_.raftId || !isMember(oid)) continue;
      if (op.address != p.address && (p.nodeName.empty() || op.nodeName != p.nodeName)) continue;
      if (heardRecently(oid, now)) {
        clash = true;
      } else {
        old = oid;
      }
    }
    if (clash) {
      log->warn("autopilot: {} ({}) has the name or address of a live member; not adding it",
                formatServerId(id), p.nodeName);
      continue;
    }
    if (old != raft::kNone) {
      log->info("autopilot: {} replaces its old identity {} ({}); removing the old one",
                formatServerId(id), formatServerId(old), p.nodeName);
      (void)node_->proposeConfChange({raft::ConfChangeType::kRemoveNode, old});
      return;
    }
    log->info("autopilot: adding {} ({} at {}) as a learner", formatServerId(id), p.nodeName,
              p.address);
    (void)node_->proposeConfChange({raft::ConfChangeType::kAddLearner, id});
    return;
  }
}

// The leader publishes which servers it hears from, through the log, so
// every server has the same view with the same epoch.
void RaftReplicator::maybePublishLiveness(Clock::time_point now) {
  if (node_->softState().role != raft::Role::kLeader) return;
  const auto& r = node_->raft();
  std::vector<raft::NodeId> live;
  for (auto id : r.conf().voters)
    if (id == cfg_.raftId || heardRecently(id, now)) live.push_back(id);
  for (auto id : r.conf().learners)
    if (heardRecently(id, now)) live.push_back(id);
  std::sort(live.begin(), live.end());
  bool newTerm = livenessTerm_ != r.term();
  if (!newTerm && live == publishedLive_) {
    livenessChangedAt_ = {};
    return;
  }
  // A change must hold for a moment before it is published (no flapping);
  // a new leader publishes at once.
  if (!newTerm) {
    if (livenessChangedAt_ == Clock::time_point{}) livenessChangedAt_ = now;
    if (now - livenessChangedAt_ < cfg_.tick * 5) return;
  }
  if (!r.committedEntryInCurrentTerm()) return;
  uint64_t seq = newTerm ? 1 : livenessSeq_ + 1;
  std::string entry(8, '\0');
  for (int i = 0; i < 8; ++i)
    entry.push_back(static_cast<char>((kSystemLiveness >> (56 - 8 * i)) & 0xff));
  entry += "v1 " + std::to_string(r.term()) + " " + std::to_string(seq) + " " + joinIds(live);
  if (node_->propose(std::move(entry)).ok()) {
    // Published for real once applied; remember the term so we do not repeat.
    livenessTerm_ = r.term();
    livenessSeq_ = seq;
    publishedLive_ = live;
    livenessChangedAt_ = {};
  }
}

void RaftReplicator::applySystemEntry(std::string_view payload) {
  if (payload.size() < 8) return;
  uint64_t kind = 0;
  for (int i = 0; i < 8; ++i) kind = (kind << 8) | static_cast<unsigned char>(payload[i]);
  payload.remove_prefix(8);
  if (kind != kSystemLiveness) {
    log::get("raft")->warn("ignoring a cluster entry of unknown kind {} (newer server?)", kind);
    return;
  }
  // "v1 <term> <seq> <id,id,...>"
  std::string text(payload);
  char version[8] = {};
  unsigned long long term = 0, seq = 0;
  int consumed = 0;
  if (sscanf(text.c_str(), "%7s %llu %llu %n", version, &term, &seq, &consumed) < 3 ||
      std::string(version) != "v1")
    return;
  std::vector<raft::NodeId> live;
  std::string ids = text.substr(static_cast<size_t>(consumed));
  for (size_t pos = 0; pos < ids.size();) {
    size_t comma = ids.find(',', pos);
    if (comma == std::string::npos) comma = ids.size();
    raft::NodeId id = 0;
    auto [end, ec] = std::from_chars(ids.data() + pos, ids.data() + comma, id, 16);
    if (ec != std::errc() || end != ids.data() + comma) return;
    live.push_back(id);
    pos = comma + 1;
  }
  if (((term << 32) | seq) < ((livenessTerm_ << 32) | livenessSeq_) &&
      node_->softState().role == raft::Role::kLeader)
    return;  // the leader already moved on
  livenessTerm_ = term;
  livenessSeq_ = seq;
  publishedLive_ = std::move(live);
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
