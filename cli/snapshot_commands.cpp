// cairn snapshot save|restore|inspect.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>

#include "cli/command.hpp"
#include "cli/output.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::cli {
namespace {

// Snapshot files the CLI reads: past the server's largest configurable
// restore body (http_config.max_snapshot_bytes is an int).
constexpr std::size_t kMaxSnapshotFileBytes = std::size_t{2} << 30;

// Reads a whole snapshot file, bounded by kMaxSnapshotFileBytes.
Result<std::string> readSnapshotFile(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return ioError("cannot read snapshot \"" + path + "\": " + ec.message());
  if (size > kMaxSnapshotFileBytes)
    return invalidArgument("snapshot \"" + path + "\" is " + std::to_string(size) +
                           " bytes, larger than the limit of " +
                           std::to_string(kMaxSnapshotFileBytes));
  std::ifstream file(path, std::ios::binary);
  std::string data(size, '\0');
  if (!file || !file.read(data.data(), static_cast<std::streamsize>(size)))
    return ioError("cannot read snapshot \"" + path + "\": " + std::strerror(errno));
  return data;
}

// Writes `data` to `path` so that `path` is either untouched or complete: a
// temporary file in the same directory, synced, then renamed over it.
Status writeFileAtomically(const std::string& path, std::string_view data) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return ioError("cannot create a temporary file in \"" + dir.string() +
                   "\": " + std::strerror(errno));
  auto fail = [&](const std::string& what) {
    Error e = ioError("cannot write \"" + path + "\": " + what + ": " + std::strerror(errno));
    ::close(fd);
    ::unlink(tmpl.c_str());
    return e;
  };
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    fd = -1;
    ::unlink(tmpl.c_str());
    return ioError("cannot write \"" + path + "\": close: " + std::strerror(errno));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    Error e =
        ioError("cannot rename the temporary file to \"" + path + "\": " + std::strerror(errno));
    ::unlink(tmpl.c_str());
    return e;
  }
  // The rename is durable once the directory is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

std::string counted(uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

}  // namespace

int snapshotSave(client::Client& c, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto snap = c.snapshotSave(inv.flags.stale);
  if (!snap) return failure(inv.err, snap.error().message);
  // Checked before anything is written: a file that verifies here is one a
  // restore accepts.
  auto summary = registry::verifySnapshotFile(snap->data);
  if (!summary)
    return failure(inv.err,
                   "the snapshot from cairn at " + c.address() +
                       " does not verify, nothing was written: " + summary.error().message);
  if (Status st = writeFileAtomically(path, snap->data); !st)
    return failure(inv.err, st.error().message);
  inv.out << "Saved and verified snapshot to index " << summary->index << '\n';
  return 0;
}

int snapshotRestore(client::Client& c, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto data = readSnapshotFile(path);
  if (!data) return failure(inv.err, data.error().message);
  auto summary = registry::verifySnapshotFile(*data);
  if (!summary)
    return failure(inv.err, "snapshot \"" + path +
                                "\" refused, nothing was changed: " + summary.error().message);
  auto at = c.snapshotRestore(*data);
  if (!at) return failure(inv.err, at.error().message);
  inv.out << "Restored snapshot taken at index " << summary->index << " ("
          << counted(summary->nodes, "node") << ", " << counted(summary->services, "service")
          << ", " << counted(summary->checks, "check") << "); the catalog is now at index " << *at
          << '\n';
  return 0;
}

int snapshotInspect(client::Client&, const Invocation& inv) {
  const std::string& path = inv.args[0];
  auto data = readSnapshotFile(path);
  if (!data) return failure(inv.err, data.error().message);
  auto s = registry::verifySnapshotFile(*data);
  if (!s) return failure(inv.err, "snapshot \"" + path + "\": " + s.error().message);
  Table table({"Field", "Value"});
  table.addRow({"Index", std::to_string(s->index)});
  table.addRow({"Version", std::to_string(s->version)});
  table.addRow({"Size", std::to_string(s->fileBytes)});
  table.addRow({"Nodes", std::to_string(s->nodes)});
  table.addRow({"Services", std::to_string(s->services)});
  table.addRow({"Checks", std::to_string(s->checks)});
  table.print(inv.out);
  return 0;
}

}  // namespace cairn::cli
