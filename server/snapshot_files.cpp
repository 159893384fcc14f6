#include "server/snapshot_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "registry/snapshot.hpp"

namespace cairn::server {
namespace {

constexpr const char* kPrefix = "raft-snapshot-";

std::string uniqueName(const std::string& dir, const char* suffix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device()();
  char buf[64];
  snprintf(buf, sizeof buf, "%s%d-%llx-%llu%s", kPrefix, static_cast<int>(getpid()),
           static_cast<unsigned long long>(salt), static_cast<unsigned long long>(++counter),
           suffix);
  return (std::filesystem::path(dir) / buf).string();
}

Error sysError(const std::string& what, const std::string& path) {
  return ioError(what + " " + path + ": " + std::strerror(errno));
}

Status writeAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sysError("cannot write", path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

class FileSink final : public raft::SnapshotSink {
 public:
  explicit FileSink(std::string dir) : path_(uniqueName(dir, ".recv")) {}
  ~FileSink() override {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(path_.c_str());  // never finished
    }
  }

  Status append(std::string_view chunk) override {
    if (fd_ < 0 && !opened_) {
      opened_ = true;
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd_ < 0) return sysError("cannot create snapshot file", path_);
    }
    if (fd_ < 0) return ioError("snapshot file " + path_ + " is closed");
    Status st = writeAll(fd_, chunk, path_);
    if (st.ok()) size_ += chunk.size();
    return st;
  }

  uint64_t size() const override { return size_; }

  Result<std::shared_ptr<const raft::SnapshotData>> finish() override {
    if (fd_ < 0 && !opened_) {  // an empty snapshot: no chunk ever came
      if (Status st = append({}); !st.ok()) return st.error();
    }
    if (fd_ < 0) return ioError("snapshot file " + path_ + " is closed");
    int fd = fd_;
    fd_ = -1;
    if (::fsync(fd) != 0) {
      ::close(fd);
      ::unlink(path_.c_str());
      return sysError("cannot sync snapshot file", path_);
    }
    ::close(fd);
    auto data = FileSnapshotData::open(path_);
    if (!data.ok()) return data.error();
    return std::shared_ptr<const raft::SnapshotData>(std::move(data).value());
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool opened_ = false;
  uint64_t size_ = 0;
};

}  // namespace

Result<std::shared_ptr<const FileSnapshotData>> FileSnapshotData::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sysError("cannot open snapshot file", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return sysError("cannot stat snapshot file", path);
  }
  return std::shared_ptr<const FileSnapshotData>(
      new FileSnapshotData(path, fd, static_cast<uint64_t>(st.st_size)));
}

FileSnapshotData::~FileSnapshotData() {
  ::close(fd_);
}

Result<std::string> FileSnapshotData::read(uint64_t offset, uint64_t n) const {
  if (offset > size_) return invalidArgument("snapshot read beyond the end");
  n = std::min(n, size_ - offset);
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd_, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return sysError("cannot read snapshot file", path_);
    done += static_cast<size_t>(r);
  }
  return out;
}

Result<std::shared_ptr<const raft::SnapshotData>> writeViewSnapshot(const registry::View& view,
                                                                    const std::string& dir) {
  std::string path = uniqueName(dir, ".send");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return sysError("cannot create snapshot file", path);
  Status st = registry::serializeViewTo(
      view, [&](std::string_view piece) { return writeAll(fd, piece, path); });
  ::close(fd);
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st.error();
  }
  auto data = FileSnapshotData::open(path);
  ::unlink(path.c_str());  // readable through the open descriptor until released
  if (!data.ok()) return data.error();
  return std::shared_ptr<const raft::SnapshotData>(std::move(data).value());
}

std::unique_ptr<raft::SnapshotSink> fileSnapshotSink(const std::string& dir) {
  return std::make_unique<FileSink>(dir);
}

void removeStaleSnapshotFiles(const std::string& dir, const std::string& keep) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 && e.path().string() != keep)
      std::filesystem::remove(e.path(), ec);
  }
}

}  // namespace cairn::server
