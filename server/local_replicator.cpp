#include "server/local_replicator.hpp"

#include "common/log.hpp"

namespace cairn::server {
namespace {
// Keep this many applied entries in the log before dropping older ones.
constexpr uint64_t kCompactEvery = 10'000;
constexpr size_t kMaxBatch = 512;
}  // namespace

LocalReplicator::LocalReplicator(storage::Db& db, registry::Catalog& catalog, std::string advertise)
    : db_(db), catalog_(catalog), advertise_(std::move(advertise)) {}

Result<std::unique_ptr<LocalReplicator>> LocalReplicator::create(storage::Db& db,
                                                                 registry::Catalog& catalog,
                                                                 std::string advertise) {
  auto last = db.lastLogIndex();
  if (!last.ok()) return last.error();
  uint64_t applied = catalog.appliedIndex();
  if (*last > applied) {
    auto entries = db.readLog(applied + 1, *last);
    if (!entries.ok()) return entries.error();
    for (const auto& e : *entries) {
      Status st = catalog.apply(e.index, e.data);
      if (!st.ok() && st.error().code == ErrorCode::kCorruption) return st.error();
    }
    Status st = catalog.flush();
    if (!st.ok()) return st.error();
    log::get("replicator")
        ->info("replayed log entries={} applied_index={}", entries->size(), catalog.appliedIndex());
  }
  std::unique_ptr<LocalReplicator> r(new LocalReplicator(db, catalog, std::move(advertise)));
  r->lastIndex_ = std::max(*last, catalog.appliedIndex());
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

LocalReplicator::~LocalReplicator() {
  shutdown();
}

void LocalReplicator::propose(std::string command, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(command), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(unavailable("server is shutting down"));
}

void LocalReplicator::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void LocalReplicator::run() {
  auto logger = log::get("replicator");
  std::vector<Pending> batch;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    // Group commit: every proposal that queued while the last fsync ran
    // shares this one.
    std::vector<storage::LogEntry> entries;
    entries.reserve(batch.size());
    for (auto& p : batch) entries.push_back({++lastIndex_, 1, std::move(p.command)});
    Status st = db_.appendLog(entries);
    if (!st.ok()) {
      logger->error("log append failed: {}", st.error().message);
      lastIndex_ -= entries.size();
      for (auto& p : batch) p.done(st.error());
      batch.clear();
      continue;
    }
    std::vector<Result<uint64_t>> results;
    results.reserve(batch.size());
    for (const auto& e : entries) {
      Status ast = catalog_.apply(e.index, e.data);
      if (ast.ok())
        results.emplace_back(e.index);
      else
        results.emplace_back(ast.error());
    }
    Status fst = catalog_.flush();
    if (!fst.ok()) {
      // The entries are in the synced log and will be applied on restart;
      // this server cannot go on serving a view that lags its log.
      logger->critical("catalog commit failed: {}; stopping", fst.error().message);
      std::abort();
    }
    for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
    batch.clear();
    maybeCompact();
  }
}

void LocalReplicator::maybeCompact() {
  uint64_t applied = catalog_.appliedIndex();
  if (applied < compactedTo_ + 2 * kCompactEvery) return;
  // Only entries whose effects are durable may go: sync the catalog first.
  if (!db_.syncCatalog().ok()) return;
  uint64_t upTo = applied - kCompactEvery;
  if (db_.truncateLogPrefix(upTo).ok()) compactedTo_ = upTo;
}

}  // namespace cairn::server
