// Raft snapshots on disk, so that neither side of a snapshot transfer holds
// the whole catalog's bytes in memory: the sender writes a view's rows to a
// temporary file and reads chunks from it; the receiver appends chunks to a
// file, then installs from it in batches.
#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"
#include "raft/types.hpp"
#include "registry/view.hpp"

namespace cairn::server {

// The snapshot bytes of a file, read with pread. The descriptor stays open,
// so the bytes stay readable after the file is unlinked.
class FileSnapshotData final : public raft::SnapshotData {
 public:
  static Result<std::shared_ptr<const FileSnapshotData>> open(const std::string& path);
  ~FileSnapshotData() override;
  uint64_t size() const override { return size_; }
  Result<std::string> read(uint64_t offset, uint64_t n) const override;
  const std::string& path() const { return path_; }

 private:
  FileSnapshotData(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
};

// Serializes `view` into an unlinked temporary file under `dir`.
Result<std::shared_ptr<const raft::SnapshotData>> writeViewSnapshot(const registry::View& view,
                                                                    const std::string& dir);

// A sink writing to a new file under `dir` (raft-snapshot-*.recv), synced
// when finished; the file is kept until the install is done.
std::unique_ptr<raft::SnapshotSink> fileSnapshotSink(const std::string& dir);

// Removes snapshot files left by an earlier run (except `keep`).
void removeStaleSnapshotFiles(const std::string& dir, const std::string& keep);

}  // namespace cairn::server
