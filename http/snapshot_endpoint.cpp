// /v1/snapshot: GET saves a point-in-time copy of the catalog (the snapshot
// file of registry/snapshot_file.hpp), PUT restores one through the
// replicator. Both run on the Api's worker thread: a large catalog takes
// seconds to serialize or to check, which neither an I/O thread nor the
// replicator's thread may spend.
#include "common/log.hpp"
#include "http/api.hpp"
#include "registry/apply.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::http {
namespace {

Response busy() {
  return Response::text(503, "too many snapshot requests in progress; try again later");
}

Response shuttingDown() {
  return Response::text(503, "server is shutting down");
}

}  // namespace

Outcome Api::snapshot(const Request& req, const std::string&) {
  return req.method == "GET" ? snapshotSave(req) : snapshotRestore(req);
}

Outcome Api::snapshotSave(const Request& req) {
  // Like other reads: by default the copy includes every write committed
  // before the request (ReadIndex on a cluster); ?stale copies this server's
  // view as it is.
  bool barrier = !req.flag("stale") && replicator_.readsNeedBarrier();
  return Deferred{[this, barrier](const std::function<void(Response)>& respond) {
    Worker::Job job;
    job.cancel = [respond] { respond(shuttingDown()); };
    job.run = [this, respond] {
      auto view = hub_.view();
      Response r;
      r.body = registry::writeSnapshotFile(*view);
      r.contentType = "application/octet-stream";
      addIndexHeaders(r, view->index);
      respond(std::move(r));
    };
    if (!barrier) {
      if (!worker_.post(std::move(job))) respond(busy());
      return;
    }
    replicator_.readBarrier([this, job = std::move(job), respond](const Status& st) mutable {
      if (!st.ok()) return respond(errorResponse(st.error()));
      if (!worker_.post(std::move(job))) respond(busy());
    });
  }};
}

Outcome Api::snapshotRestore(const Request& req) {
  if (req.body.empty())
    return Response::text(400,
                          "Snapshot refused, nothing was changed: the body is empty; PUT "
                          "/v1/snapshot takes a snapshot file (GET /v1/snapshot or `cairn "
                          "snapshot save` writes one)");
  auto body = std::make_shared<const std::string>(req.body);
  return Deferred{[this, body](const std::function<void(Response)>& respond) {
    Worker::Job job;
    job.cancel = [respond] { respond(shuttingDown()); };
    job.run = [this, body, respond] {
      auto refused = [&](const std::string& why) {
        respond(Response::text(400, "Snapshot refused, nothing was changed: " + why));
      };
      auto file = registry::openSnapshotFile(*body);
      if (!file.ok()) return refused(file.error().message);
      std::string cmd =
          registry::encodeCommand(registry::RestoreCommand{std::string(file->payload)});
      if (cmd.size() > replicator_.maxCommandBytes())
        return respond(Response::text(
            413,
            "Snapshot too large to replicate, nothing was changed: its compressed catalog is " +
                std::to_string(cmd.size()) + " bytes and a cluster replicates commands of at " +
                "most " + std::to_string(replicator_.maxCommandBytes()) +
                " bytes (the server-to-server frame limit)"));
      // Decode and check every row here, so that a bad snapshot is refused
      // before anything changes. Every server checks again as it applies,
      // building its own view: this one goes at once.
      size_t instances = 0;
      {
        auto checked = registry::restoredView(file->payload, 1);
        if (!checked.ok()) return refused(checked.error().message);
        instances = checked->nodeServices.size();
      }
      uint64_t takenAt = file->index;
      size_t bytes = body->size();
      replicator_.propose(
          std::move(cmd), [this, respond, takenAt, bytes, instances](Result<uint64_t> r) {
            if (!r.ok()) return respond(errorResponse(r.error()));
            log::get("http")->info(
                "catalog restored from a snapshot taken_at_index={} restore_index={} bytes={} "
                "instances={}",
                takenAt, *r, bytes, instances);
            Response ok = Response::json("");
            addIndexHeaders(ok, *r);
            respond(std::move(ok));
          });
    };
    if (!worker_.post(std::move(job))) respond(busy());
  }};
}

}  // namespace cairn::http
