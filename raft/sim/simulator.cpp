#include "raft/sim/simulator.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>

namespace cairn::raft::sim {
namespace {

constexpr int64_t kTick = 100;  // time units per nominal tick
constexpr uint64_t kSnapshotEvery = 30;
constexpr uint64_t kKeepAfterSnapshot = 5;
constexpr int64_t kClientTimeout = 20 * kTick;

struct Violation {
  std::string what;
};

struct ClientOp {
  size_t historyIndex = 0;
  bool isWrite = false;
  std::string key;
  uint64_t seq = 0;
  int attempts = 1;
  uint64_t minReadIndex = 0;  // reads: the highest index committed anywhere when issued
};

struct SimNode {
  NodeId id = 0;
  bool up = false;
  bool busy = false;  // a Ready is being persisted
  int64_t tickPeriod = kTick;
  MemoryStorage disk;  // survives crashes
  std::unique_ptr<RawNode> raft;
  std::optional<Ready> inFlight;
  uint64_t generation = 0;  // bumps on crash: stale events are ignored
  std::vector<Message> inbox;
  int pendingTicks = 0;
  KvStore kv;
  uint64_t applied = 0;
  std::map<std::pair<uint64_t, uint64_t>, size_t> pendingWrites;       // (client, seq) -> client id
  std::map<std::string, std::pair<size_t, std::string>> pendingReads;  // ctx -> (client, key)
  std::vector<std::pair<ReadState, std::pair<size_t, std::string>>> readyReads;
  bool removed = false;
  std::vector<NodeId> bootstrapPeers;  // founding members only
};

struct Client {
  size_t id = 0;
  uint64_t seq = 0;
  std::optional<ClientOp> current;
  int64_t deadline = 0;
  NodeId target = 1;
};

enum class EvKind { kDeliver, kTick, kPersisted, kClient, kFault };

struct Event {
  int64_t time;
  uint64_t order;
  EvKind kind;
  NodeId node = 0;
  uint64_t generation = 0;
  Message msg;
  size_t client = 0;
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : order > o.order; }
};

Event nodeEvent(int64_t time, EvKind kind, NodeId node, uint64_t generation) {
  Event e;
  e.time = time;
  e.order = 0;
  e.kind = kind;
  e.node = node;
  e.generation = generation;
  return e;
}

Event clientEvent(int64_t time, size_t client) {
  Event e = nodeEvent(time, EvKind::kClient, 0, 0);
  e.client = client;
  return e;
}

class Simulation {
 public:
  explicit Simulation(const SimOptions& o) : opts_(o), rng_(o.seed) {}

  SimResult run() {
    SimResult res;
    try {
      setup();
      int64_t faultEnd = opts_.faultTicks * kTick;
      scheduleFault(kTick * 5);
      while (!queue_.empty() && queue_.top().time <= faultEnd) step();
      heal();
      int64_t healEnd = faultEnd + opts_.healTicks * kTick;
      while (!queue_.empty() && queue_.top().time <= healEnd && !settled()) step();
      if (!settled() && opts_.verbose) dumpState();
      if (!settled())
        throw Violation{"liveness: cluster did not recover within " +
                        std::to_string(opts_.healTicks) + " ticks after faults stopped (" +
                        settleReason_ + ")"};
      finalChecks();
    } catch (const Violation& v) {
      res.ok = false;
      res.violation = "t=" + std::to_string(now_) + " " + v.what;
    }
    res.coverage = cov_;
    res.events = events_;
    return res;
  }

 private:
  // ---- setup and the event loop -------------------------------------------------
  void setup() {
    int n = 3 + static_cast<int>(rng_() % 3);  // 3..5 voters
    if (rng_() % 10 == 0) n = 7;
    for (int i = 1; i <= n; ++i) voters_.push_back(static_cast<NodeId>(i));
    nextId_ = static_cast<NodeId>(n + 1);
    lossPct_ = static_cast<int>(rng_() % 6);
    dupPct_ = static_cast<int>(rng_() % 4);
    for (NodeId id : voters_) {
      auto& node = nodes_[id];
      node.id = id;
      node.bootstrapPeers = voters_;
      startNode(node);
    }
    for (size_t c = 0; c < 3; ++c) {
      clients_.push_back(Client{c, 0, std::nullopt, 0, voters_[c % voters_.size()]});
      push(clientEvent(static_cast<int64_t>(rng_() % kTick), c));
    }
  }

  Config configFor(NodeId id) {
    Config c;
    c.id = id;
    c.electionTick = 10;
    c.heartbeatTick = 1;
    c.maxSizePerMsg = 64;  // 1-2 entries per MsgApp: more partial replication
    c.maxInflightMsgs = 8;
    c.snapshotChunkBytes = 64;
    c.seed = opts_.seed * 1000003 + id * 7919 + nodes_[id].generation;
    c.bugs = opts_.bugs;
    c.peers = nodes_[id].bootstrapPeers;
    return c;
  }

  void startNode(SimNode& node) {
    node.up = true;
    node.busy = false;
    node.inFlight.reset();
    node.inbox.clear();
    node.pendingTicks = 0;
    node.pendingWrites.clear();
    node.pendingReads.clear();
    node.readyReads.clear();
    node.tickPeriod = kTick + static_cast<int64_t>(rng_() % 21) - 10;  // clock drift +-10%
    auto snap = node.disk.snapshot();
    node.kv.restore(snap->readAll());
    node.applied = snap->meta.index;
    Config cfg = configFor(node.id);
    cfg.applied = node.applied;
    node.raft = std::move(RawNode::create(cfg, node.disk).value());
    push(nodeEvent(now_ + node.tickPeriod, EvKind::kTick, node.id, node.generation));
  }

  void push(Event e) {
    e.order = order_++;
    queue_.push(std::move(e));
  }

  void step() {
    Event e = queue_.top();
    queue_.pop();
    now_ = e.time;
    ++events_;
    switch (e.kind) {
      case EvKind::kDeliver:
        deliver(std::move(e.msg));
        break;
      case EvKind::kTick: {
        auto it = nodes_.find(e.node);
        if (it == nodes_.end() || !it->second.up || it->second.generation != e.generation) break;
        auto& n = it->second;
        push(nodeEvent(now_ + n.tickPeriod, EvKind::kTick, n.id, n.generation));
        ++n.pendingTicks;
        pump(n);
        break;
      }
      case EvKind::kPersisted: {
        auto it = nodes_.find(e.node);
        if (it == nodes_.end() || !it->second.up || it->second.generation != e.generation) break;
        finishReady(it->second);
        pump(it->second);
        break;
      }
      case EvKind::kClient:
        clientStep(clients_[e.client]);
        break;
      case EvKind::kFault:
        fault();
        break;
    }
  }

  // ---- the network ----------------------------------------------------------------
  bool blocked(NodeId from, NodeId to) const { return cuts_.count({from, to}) > 0; }

  void send(Message m) {
    ++cov_.messages;
    if (blocked(m.from, m.to)) return;
    if (static_cast<int>(rng_() % 100) < lossPct_) return;
    int copies = static_cast<int>(rng_() % 100) < dupPct_ ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      int64_t delay = 1 + static_cast<int64_t>(rng_() % 30);
      if (rng_() % 50 == 0) delay += static_cast<int64_t>(rng_() % (3 * kTick));  // reordering
      Event e = nodeEvent(now_ + delay, EvKind::kDeliver, 0, 0);
      e.msg = m;
      push(std::move(e));
    }
  }

  void deliver(Message m) {
    if (m.type == MsgType::kVote || m.type == MsgType::kVoteResp ||
        m.type == MsgType::kTimeoutNow || m.type == MsgType::kPreVote ||
        m.type == MsgType::kPreVoteResp)
      trace("deliver %s %llu->%llu term=%llu index=%llu logTerm=%llu reject=%d", toString(m.type),
            (unsigned long long)m.from, (unsigned long long)m.to, (unsigned long long)m.term,
            (unsigned long long)m.index, (unsigned long long)m.logTerm, int(m.reject));
    auto it = nodes_.find(m.to);
    if (it == nodes_.end() || !it->second.up) return;
    if (blocked(m.from, m.to)) return;  // partitions also cut messages in flight
    it->second.inbox.push_back(std::move(m));
    pump(it->second);
  }

  // ---- a node: step inputs, persist Ready, then send and apply ---------------------
  void pump(SimNode& n) {
    if (!n.up || n.busy) return;
    for (auto& m : n.inbox) (void)n.raft->step(std::move(m));
    n.inbox.clear();
    for (; n.pendingTicks > 0; --n.pendingTicks) n.raft->tick();
    startReady(n);
  }

  void startReady(SimNode& n) {
    if (!n.raft->hasReady()) return;
    n.inFlight = n.raft->ready();
    n.busy = true;
    // The fsync takes a little time; a crash before it completes loses it.
    push(nodeEvent(now_ + 1 + static_cast<int64_t>(rng_() % 5), EvKind::kPersisted, n.id,
                   n.generation));
  }

  void finishReady(SimNode& n) {
    Ready rd = std::move(*n.inFlight);
    n.inFlight.reset();
    n.busy = false;
    // 1. Persist.
    if (rd.hardState) checkHardState(n, *rd.hardState);
    if (rd.hardState && n.raft->raft().role() == Role::kLeader &&
        rd.hardState->commit > n.disk.hardState().commit &&
        n.raft->raft().log().term(rd.hardState->commit) != rd.hardState->term)
      // Thesis 3.6.2 (Figure 8): a leader commits by counting replicas only
      // an entry of its own term.
      throw Violation{"commit rule: leader " + std::to_string(n.id) + " of term " +
                      std::to_string(rd.hardState->term) + " committed index " +
                      std::to_string(rd.hardState->commit) + " of an earlier term"};
    if (!rd.snapshot.empty()) {
      (void)n.disk.applySnapshot(rd.snapshot);
      ++cov_.snapshotInstalls;
      trace("node %llu installed snapshot at %llu", (unsigned long long)n.id,
            (unsigned long long)rd.snapshot.meta.index);
    }
    if (!rd.entries.empty()) checkAppend(n, rd);
    n.disk.append(rd.entries);
    if (rd.hardState) n.disk.setHardState(*rd.hardState);
    // 2. Send. Figure 2: a server updates stable storage before responding
    // to RPCs: a granted vote and acknowledged entries are on disk now.
    for (const auto& m : rd.messages) checkDurableBeforeReply(n, m);
    for (auto& m : rd.messages) send(std::move(m));
    if (rd.softState) onSoftState(n, *rd.softState);
    // 3. Apply.
    if (!rd.snapshot.empty()) {
      n.kv.restore(rd.snapshot.readAll());
      n.applied = rd.snapshot.meta.index;
    }
    for (const auto& e : rd.committedEntries) applyEntry(n, e);
    for (auto& rs : rd.readStates) {
      auto it = n.pendingReads.find(rs.context);
      if (it == n.pendingReads.end()) continue;
      const Client& c = clients_[it->second.first];
      // Thesis 6.4: a read index covers every entry committed before the
      // read was requested; a smaller one would serve a stale value.
      bool current =
          c.current && !c.current->isWrite &&
          rs.context == "r" + std::to_string(c.id) + "-" + std::to_string(c.current->seq);
      if (current && rs.index < c.current->minReadIndex)
        throw Violation{"stale read index " + std::to_string(rs.index) + " on node " +
                        std::to_string(n.id) + ": entry " +
                        std::to_string(c.current->minReadIndex) + " was committed before the read"};
      n.readyReads.push_back({rs, it->second});
      n.pendingReads.erase(it);
    }
    serveReads(n);
    n.raft->advance(rd);
    maybeCompact(n);
  }

  void applyEntry(SimNode& n, const Entry& e) {
    checkApplied(n, e);
    n.applied = e.index;
    if (e.type == EntryType::kConfChange) {
      auto cc = ConfChange::decode(e.data);
      if (!cc) throw Violation{"undecodable conf change"};
      n.raft->applyConfChange(*cc);
      if (n.id == leaderOf()) ++cov_.membershipChanges;
      trace("node %llu applied conf change %d node %llu at %llu", (unsigned long long)n.id,
            int(cc->type), (unsigned long long)cc->node, (unsigned long long)e.index);
      if (cc->type == ConfChangeType::kRemoveNode && cc->node == n.id) n.removed = true;
      return;
    }
    auto op = KvOp::decode(e.data);
    if (!op) return;  // empty entries of new terms
    n.kv.apply(*op);
    auto it = n.pendingWrites.find({op->client, op->seq});
    if (it != n.pendingWrites.end()) {
      complete(clients_[it->second], op->seq, "");
      n.pendingWrites.erase(it);
    }
  }

  void serveReads(SimNode& n) {
    for (auto it = n.readyReads.begin(); it != n.readyReads.end();) {
      if (n.applied >= it->first.index) {
        auto& [client, key] = it->second;
        ++cov_.readIndexReads;
        complete(clients_[client], clients_[client].current ? clients_[client].current->seq : 0,
                 n.kv.get(key), it->first.context);
        it = n.readyReads.erase(it);
      } else {
        ++it;
      }
    }
  }

  void maybeCompact(SimNode& n) {
    auto snap = n.disk.snapshot();
    if (n.applied < snap->meta.index + kSnapshotEvery) return;
    if (n.applied > n.disk.lastIndex()) return;
    (void)n.disk.createSnapshot(n.applied, n.raft->raft().conf(), n.kv.serialize());
    if (n.applied > kKeepAfterSnapshot && n.applied - kKeepAfterSnapshot > n.disk.firstIndex())
      (void)n.disk.compact(n.applied - kKeepAfterSnapshot);
  }

  void dumpState() {
    for (auto& [id, n] : nodes_) {
      if (!n.up) {
        std::printf("node %llu down\n", (unsigned long long)id);
        continue;
      }
      const Raft& r = n.raft->raft();
      std::printf(
          "node %llu role=%s term=%llu lead=%llu first=%llu last=%llu commit=%llu applied=%llu "
          "simApplied=%llu busy=%d removed=%d\n",
          (unsigned long long)id, toString(r.role()), (unsigned long long)r.term(),
          (unsigned long long)r.lead(), (unsigned long long)r.log().firstIndex(),
          (unsigned long long)r.log().lastIndex(), (unsigned long long)r.log().committed(),
          (unsigned long long)r.log().applied(), (unsigned long long)n.applied, int(n.busy),
          int(n.removed));
      if (r.role() == Role::kLeader)
        for (const auto& [pid, pr] : const_cast<ProgressTracker&>(r.tracker()).all())
          std::printf(
              "  peer %llu match=%llu next=%llu state=%d probeSent=%d pendingSnap=%llu "
              "inflight=%zu\n",
              (unsigned long long)pid, (unsigned long long)pr.match, (unsigned long long)pr.next,
              int(pr.state), int(pr.probeSent), (unsigned long long)pr.pendingSnapshot,
              pr.inflights.count());
    }
  }

  template <typename... A>
  void trace(const char* fmt, A... a) {
    if (!opts_.verbose) return;
    std::printf("t=%lld ", static_cast<long long>(now_));
    std::printf(fmt, a...);
    std::printf("\n");
  }

  void onSoftState(SimNode& n, const SoftState& ss) {
    trace("node %llu role=%s lead=%llu term=%llu last=%llu commit=%llu", (unsigned long long)n.id,
          toString(ss.role), (unsigned long long)ss.lead,
          (unsigned long long)n.raft->hardState().term,
          (unsigned long long)n.raft->raft().log().lastIndex(),
          (unsigned long long)n.raft->raft().log().committed());
    if (ss.role == Role::kCandidate) ++cov_.elections;
    if (ss.role != Role::kLeader) return;
    uint64_t term = n.raft->hardState().term;
    auto [it, fresh] = leaders_.emplace(term, n.id);
    if (!fresh && it->second != n.id)
      throw Violation{"election safety: two leaders in term " + std::to_string(term) + ": " +
                      std::to_string(it->second) + " and " + std::to_string(n.id)};
    if (fresh) {
      ++cov_.leaderChanges;
      if (transferTarget_ == n.id) {
        ++cov_.leaderTransfers;
        transferTarget_ = 0;
      }
      checkLeaderCompleteness(n, term);
    }
  }

  // ---- invariants ------------------------------------------------------------------
  void checkHardState(SimNode& n, const HardState& hs) {
    const HardState& old = n.disk.hardState();
    if (hs.term < old.term)
      throw Violation{"term went backwards on disk on node " + std::to_string(n.id)};
    if (hs.term == old.term && old.vote != kNone && hs.vote != old.vote)
      throw Violation{"vote changed within term " + std::to_string(hs.term) + " on node " +
                      std::to_string(n.id)};
  }

  void checkDurableBeforeReply(SimNode& n, const Message& m) {
    if (m.type == MsgType::kVoteResp && !m.reject) {
      const HardState& hs = n.disk.hardState();
      if (hs.term != m.term || hs.vote != m.to)
        throw Violation{"node " + std::to_string(n.id) + " granted its vote in term " +
                        std::to_string(m.term) + " to " + std::to_string(m.to) +
                        " without persisting it"};
    }
    if (m.type == MsgType::kAppResp && !m.reject && m.index > n.disk.lastIndex() &&
        m.index > n.disk.snapshot()->meta.index)
      throw Violation{"node " + std::to_string(n.id) + " acknowledged entry " +
                      std::to_string(m.index) + " that is not on its disk"};
  }

  void checkAppend(SimNode& n, const Ready& rd) {
    const auto& ents = rd.entries;
    // Leader append-only: a leader never overwrites or deletes its entries.
    if (n.raft->raft().role() == Role::kLeader && ents.front().index <= n.disk.lastIndex() &&
        n.disk.term(ents.front().index).ok() &&
        *n.disk.term(ents.front().index) == n.raft->hardState().term)
      throw Violation{"leader " + std::to_string(n.id) + " overwrote its own entry " +
                      std::to_string(ents.front().index)};
    // Log matching: same index and term means same entry and same
    // predecessor term (by induction, the same prefix).
    for (size_t i = 0; i < ents.size(); ++i) {
      const Entry& e = ents[i];
      uint64_t prevTerm = 0;
      if (i > 0) {
        prevTerm = ents[i - 1].term;
      } else if (e.index > 1) {
        auto t = n.disk.term(e.index - 1);
        if (!t.ok()) continue;  // predecessor compacted: nothing to compare
        prevTerm = *t;
      }
      auto key = std::make_pair(e.index, e.term);
      auto [it, fresh] = entries_.emplace(key, std::make_pair(e.data, prevTerm));
      if (!fresh && (it->second.first != e.data || it->second.second != prevTerm))
        throw Violation{"log matching: entry " + std::to_string(e.index) + " term " +
                        std::to_string(e.term) + " differs on node " + std::to_string(n.id)};
    }
  }

  void checkApplied(SimNode& n, const Entry& e) {
    if (e.index != n.applied + 1)
      throw Violation{"node " + std::to_string(n.id) + " applied " + std::to_string(e.index) +
                      " after " + std::to_string(n.applied)};
    auto [it, fresh] = applied_.emplace(e.index, std::make_pair(e.term, e.data));
    if (!fresh && (it->second.first != e.term || it->second.second != e.data))
      throw Violation{"state machine safety: node " + std::to_string(n.id) +
                      " applied a different entry at " + std::to_string(e.index)};
  }

  void checkLeaderCompleteness(SimNode& n, uint64_t term) {
    const RaftLog& log = n.raft->raft().log();
    for (auto it = applied_.rbegin(); it != applied_.rend(); ++it) {
      uint64_t idx = it->first;
      if (idx < log.firstIndex()) break;
      if (log.term(idx) != it->second.first)
        throw Violation{"leader completeness: leader " + std::to_string(n.id) + " of term " +
                        std::to_string(term) + " lacks committed entry " + std::to_string(idx)};
    }
  }

  NodeId leaderOf() const {
    NodeId best = 0;
    uint64_t bestTerm = 0;
    for (const auto& [id, n] : nodes_) {
      if (!n.up || n.removed) continue;
      if (n.raft->softState().role == Role::kLeader && n.raft->hardState().term >= bestTerm) {
        best = id;
        bestTerm = n.raft->hardState().term;
      }
    }
    return best;
  }

  // ---- clients ---------------------------------------------------------------------
  void clientStep(Client& c) {
    if (c.current) {
      if (now_ >= c.deadline && c.current->attempts < 2 && retry(c)) {
        // Retried once at another server with the same (client, seq): the
        // state machine applies a write at most once, and the operation's
        // interval spans both attempts.
        push(clientEvent(c.deadline, c.id));
        return;
      }
      if (now_ >= c.deadline) {
        // Unknown outcome: the write may or may not take effect; reads that
        // timed out are dropped (they had no effect).
        if (!c.current->isWrite) history_[c.current->historyIndex].ret = -1;
        c.current.reset();
        c.target = pickTarget();
      } else {
        push(clientEvent(c.deadline, c.id));
        return;
      }
    }
    if (faultsOver_) return;
    startOp(c);
  }

  NodeId pickTarget() {
    NodeId l = leaderOf();
    if (l && rng_() % 4 != 0) return l;
    std::vector<NodeId> up;
    for (auto& [id, n] : nodes_)
      if (n.up && !n.removed) up.push_back(id);
    return up.empty() ? 1 : up[rng_() % up.size()];
  }

  void startOp(Client& c) {
    auto it = nodes_.find(c.target);
    if (it == nodes_.end() || !it->second.up || it->second.removed) {
      c.target = pickTarget();
      push(clientEvent(now_ + kTick / 2, c.id));
      return;
    }
    SimNode& n = it->second;
    ClientOp op;
    op.isWrite = rng_() % 2 == 0;
    op.key = "k" + std::to_string(rng_() % 3);
    op.seq = ++c.seq;
    HistoryOp h;
    h.isWrite = op.isWrite;
    h.key = op.key;
    h.call = now_;
    if (op.isWrite) {
      h.value = "c" + std::to_string(c.id) + "s" + std::to_string(op.seq);
      KvOp kv{c.id + 1, op.seq, op.key, h.value};
      Status st = n.raft->propose(kv.encode());
      if (!st.ok()) {
        // Dropped before anything was appended: a definite failure.
        c.target = pickTarget();
        push(clientEvent(now_ + kTick / 2, c.id));
        return;
      }
      n.pendingWrites[{c.id + 1, op.seq}] = c.id;
    } else {
      op.minReadIndex = applied_.empty() ? 0 : applied_.rbegin()->first;
      std::string ctx = "r" + std::to_string(c.id) + "-" + std::to_string(op.seq);
      n.pendingReads[ctx] = {c.id, op.key};
      n.raft->readIndex(ctx);
    }
    op.historyIndex = history_.size();
    history_.push_back(h);
    c.current = op;
    c.deadline = now_ + kClientTimeout;
    push(clientEvent(c.deadline, c.id));
    pump(n);
  }

  bool retry(Client& c) {
    NodeId target = pickTarget();
    auto it = nodes_.find(target);
    if (it == nodes_.end() || !it->second.up || it->second.removed) return false;
    SimNode& n = it->second;
    ClientOp& op = *c.current;
    op.attempts++;
    if (op.isWrite) {
      KvOp kv{c.id + 1, op.seq, op.key, history_[op.historyIndex].value};
      if (!n.raft->propose(kv.encode()).ok()) return false;
      n.pendingWrites[{c.id + 1, op.seq}] = c.id;
    } else {
      std::string ctx = "r" + std::to_string(c.id) + "-" + std::to_string(op.seq);
      n.pendingReads[ctx] = {c.id, op.key};
      n.raft->readIndex(ctx);
    }
    c.target = target;
    c.deadline = now_ + kClientTimeout;
    ++retries_;
    pump(n);
    return true;
  }

  void complete(Client& c, uint64_t seq, const std::string& readValue,
                const std::string& ctx = "") {
    if (!c.current || c.current->seq != seq) return;
    if (!ctx.empty() && ctx != "r" + std::to_string(c.id) + "-" + std::to_string(seq)) return;
    auto& h = history_[c.current->historyIndex];
    h.ret = now_;
    if (!h.isWrite) h.value = readValue;
    if (h.isWrite) acked_.push_back(c.current->historyIndex);
    c.current.reset();
    push(clientEvent(now_ + 1 + static_cast<int64_t>(rng_() % (kTick / 2)), c.id));
  }

  // ---- faults ----------------------------------------------------------------------
  void scheduleFault(int64_t at) { push(nodeEvent(at, EvKind::kFault, 0, 0)); }

  std::vector<NodeId> liveMembers() {
    std::vector<NodeId> out;
    for (auto& [id, n] : nodes_)
      if (!n.removed) out.push_back(id);
    return out;
  }

  void fault() {
    if (faultsOver_) return;
    scheduleFault(now_ + kTick * (3 + static_cast<int64_t>(rng_() % 15)));
    auto members = liveMembers();
    int kind = static_cast<int>(rng_() % 10);
    trace("fault %d", kind);
    switch (kind) {
      case 0:
      case 1: {  // symmetric partition into two groups
        cuts_.clear();
        std::vector<NodeId> a, b;
        for (NodeId id : members) (rng_() % 2 ? a : b).push_back(id);
        for (NodeId x : a)
          for (NodeId y : b) {
            cuts_.insert({x, y});
            cuts_.insert({y, x});
          }
        ++cov_.partitions;
        break;
      }
      case 2: {  // isolate the leader
        NodeId l = leaderOf();
        if (!l) break;
        cuts_.clear();
        for (NodeId id : members)
          if (id != l) {
            cuts_.insert({l, id});
            cuts_.insert({id, l});
          }
        ++cov_.partitions;
        break;
      }
      case 3: {  // one-way partition
        if (members.size() < 2) break;
        NodeId x = members[rng_() % members.size()], y = members[rng_() % members.size()];
        if (x != y) cuts_.insert({x, y});
        ++cov_.partitions;
        break;
      }
      case 4:
        cuts_.clear();
        break;
      case 5:
      case 6: {  // crash a node (at most a minority down at once), or restart one
        std::vector<NodeId> down, up;
        for (NodeId id : members) (nodes_[id].up ? up : down).push_back(id);
        if (!down.empty() && rng_() % 2) {
          restart(down[rng_() % down.size()]);
        } else if (((down.size() + 1) * 2 < members.size() || rng_() % 10 == 0) && !up.empty()) {
          // Usually a minority at a time; sometimes a majority (no progress
          // then, but nothing acknowledged may be lost).
          crash(up[rng_() % up.size()]);
        } else if (!down.empty()) {
          restart(down[rng_() % down.size()]);
        }
        break;
      }
      case 7:
        membershipChange();
        break;
      case 8: {  // leadership transfer
        NodeId l = leaderOf();
        if (!l) break;
        const auto& v = nodes_[l].raft->raft().conf().voters;
        NodeId to = v[rng_() % v.size()];
        if (to == l) break;
        transferTarget_ = to;
        nodes_[l].raft->transferLeadership(to);
        pump(nodes_[l]);
        break;
      }
      case 9:
        lossPct_ = static_cast<int>(rng_() % 10);
        dupPct_ = static_cast<int>(rng_() % 5);
        break;
    }
  }

  void crash(NodeId id) {
    auto& n = nodes_[id];
    if (!n.up) return;
    n.up = false;
    n.busy = false;
    n.inFlight.reset();  // an unsynced Ready is lost
    ++n.generation;
    n.raft.reset();
    n.inbox.clear();
    n.pendingWrites.clear();  // their clients time out: unknown outcome
    n.pendingReads.clear();
    n.readyReads.clear();
    ++cov_.crashes;
    trace("crash node %llu", (unsigned long long)id);
  }

  void restart(NodeId id) {
    auto& n = nodes_[id];
    if (n.up || n.removed) return;
    ++n.generation;
    startNode(n);
    trace("restart node %llu term=%llu vote=%llu commit=%llu last=%llu", (unsigned long long)id,
          (unsigned long long)n.disk.hardState().term, (unsigned long long)n.disk.hardState().vote,
          (unsigned long long)n.disk.hardState().commit, (unsigned long long)n.disk.lastIndex());
  }

  void membershipChange() {
    NodeId l = leaderOf();
    if (!l) return;
    auto& leader = nodes_[l];
    const ConfState& conf = leader.raft->raft().conf();
    if (!conf.learners.empty()) {
      NodeId learner = conf.learners.front();
      const Progress* pr = leader.raft->raft().tracker().get(learner);
      if (pr && pr->match + 5 >= leader.raft->raft().log().lastIndex())
        (void)leader.raft->proposeConfChange({ConfChangeType::kAddVoter, learner});
    } else if (conf.voters.size() < 5 && rng_() % 2) {
      NodeId id = nextId_++;
      auto& n = nodes_[id];
      n.id = id;
      startNode(n);
      (void)leader.raft->proposeConfChange({ConfChangeType::kAddLearner, id});
    } else if (conf.voters.size() > 3) {
      NodeId victim = conf.voters[rng_() % conf.voters.size()];
      (void)leader.raft->proposeConfChange({ConfChangeType::kRemoveNode, victim});
    }
    pump(leader);
  }

  void heal() {
    faultsOver_ = true;
    healing_ = true;
    cuts_.clear();
    lossPct_ = 0;
    dupPct_ = 0;
    for (auto& [id, n] : nodes_)
      if (!n.up && !n.removed) restart(id);
    // Stop removed nodes: they are out of the cluster.
    for (auto& [id, n] : nodes_)
      if (n.removed && n.up) crash(id);
    probeProposed_ = false;
  }

  bool settled() {
    NodeId l = leaderOf();
    if (!l) {
      settleReason_ = "no leader";
      return false;
    }
    for (const auto& c : clients_)
      if (c.current) {
        settleReason_ = "client op pending";
        return false;
      }
    auto& leader = nodes_[l];
    if (!probeProposed_) {
      KvOp probe{999, ++probeSeq_, "probe", "p" + std::to_string(probeSeq_)};
      if (leader.raft->propose(probe.encode()).ok()) {
        probeProposed_ = true;
        probeIndex_ = leader.raft->raft().log().lastIndex();
        pump(leader);
      }
      settleReason_ = "probe not yet proposed";
      return false;
    }
    uint64_t want = std::max(probeIndex_, leader.raft->raft().log().committed());
    const auto& conf = leader.raft->raft().conf();
    for (NodeId v : conf.voters) {
      auto it = nodes_.find(v);
      if (it == nodes_.end() || !it->second.up || it->second.applied < want) {
        settleReason_ = "voter " + std::to_string(v) + " has not applied " + std::to_string(want);
        return false;
      }
    }
    return true;
  }

  void finalChecks() {
    // Every voter has the same state machine.
    NodeId l = leaderOf();
    uint64_t sum = nodes_[l].kv.checksum();
    for (NodeId v : nodes_[l].raft->raft().conf().voters)
      if (nodes_[v].kv.checksum() != sum)
        throw Violation{"state machines differ after healing (node " + std::to_string(v) + ")"};
    // Every acknowledged write survived.
    for (size_t idx : acked_) {
      const auto& h = history_[idx];
      bool found = false;
      for (const auto& [i, e] : applied_) {
        auto op = KvOp::decode(e.second);
        if (op && op->value == h.value) {
          found = true;
          break;
        }
      }
      if (!found) throw Violation{"acknowledged write " + h.value + " was lost"};
    }
    std::vector<HistoryOp> hist;
    for (const auto& h : history_)
      if (h.ret != -1) hist.push_back(h);
    auto res = checkLinearizable(hist);
    cov_.opsChecked += res.opsChecked;
    if (!res.ok)
      throw Violation{"linearizability: history of key " + res.badKey + " is not linearizable"};
  }

  SimOptions opts_;
  std::mt19937_64 rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  uint64_t order_ = 0;
  int64_t now_ = 0;
  uint64_t events_ = 0;
  std::map<NodeId, SimNode> nodes_;
  std::vector<NodeId> voters_;
  NodeId nextId_ = 1;
  std::vector<Client> clients_;
  std::set<std::pair<NodeId, NodeId>> cuts_;
  int lossPct_ = 0;
  int dupPct_ = 0;
  bool faultsOver_ = false;
  bool healing_ = false;
  NodeId transferTarget_ = 0;
  bool probeProposed_ = false;
  uint64_t probeIndex_ = 0;
  uint64_t probeSeq_ = 0;
  std::string settleReason_;
  Coverage cov_;
  std::map<uint64_t, NodeId> leaders_;  // term -> leader
  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::string, uint64_t>>
      entries_;  // (index, term) -> (data, prev term)
  std::map<uint64_t, std::pair<uint64_t, std::string>> applied_;  // index -> (term, data)
  std::vector<HistoryOp> history_;
  std::vector<size_t> acked_;
  uint64_t retries_ = 0;
};

}  // namespace

void Coverage::add(const Coverage& o) {
  elections += o.elections;
  leaderChanges += o.leaderChanges;
  partitions += o.partitions;
  crashes += o.crashes;
  snapshotInstalls += o.snapshotInstalls;
  membershipChanges += o.membershipChanges;
  leaderTransfers += o.leaderTransfers;
  readIndexReads += o.readIndexReads;
  opsChecked += o.opsChecked;
  messages += o.messages;
}

std::string Coverage::format() const {
  std::ostringstream o;
  o << "elections=" << elections << " leader_changes=" << leaderChanges
    << " partitions=" << partitions << " crashes=" << crashes
    << " snapshot_installs=" << snapshotInstalls << " membership_changes=" << membershipChanges
    << " leader_transfers=" << leaderTransfers << " read_index_reads=" << readIndexReads
    << " ops_checked=" << opsChecked << " messages=" << messages;
  return o.str();
}

SimResult runSimulation(const SimOptions& opts) {
  return Simulation(opts).run();
}

}  // namespace cairn::raft::sim
