// The snapshot file: a point-in-time copy of the whole catalog, as
// GET /v1/snapshot returns it, `cairn snapshot save` writes it and
// PUT /v1/snapshot takes it back. Layout (integers big-endian):
//
//   offset  bytes  field
//        0      8  magic "CAIRNSNP"
//        8      4  format version (kSnapshotFileVersion)
//       12      4  payload encoding: 1 = zstd-compressed catalog rows
//       16      8  catalog index the copy was taken at
//       24      8  payload length in bytes
//       32     32  SHA-256 of bytes [0, 32) followed by the payload
//       64      -  payload: the rows of serializeView() (snapshot.hpp), zstd
//
// Magic and version keep their places in every later version, so any binary
// can tell "not a snapshot" from "a snapshot newer than I understand". The
// checksum covers the header fields as well as the payload.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/store.hpp"
#include "registry/view.hpp"

namespace cairn::registry {

inline constexpr uint32_t kSnapshotFileVersion = 1;
inline constexpr size_t kSnapshotHeaderBytes = 64;
// Largest decompressed payload a binary accepts (a decompression bomb in a
// small file is refused before any memory is taken for it).
inline constexpr uint64_t kMaxSnapshotRowsBytes = uint64_t{1} << 30;

struct SnapshotFile {
  uint32_t version = 0;
  uint64_t index = 0;
  std::string_view payload;  // points into the bytes given to openSnapshotFile
};

// The file of a view: its rows, compressed, behind the header.
std::string writeSnapshotFile(const View& v);

// Checks the magic, the version, the lengths and the checksum, not what the
// payload holds. Every failure is kInvalidArgument with a message that says
// what is wrong ("not a Cairn snapshot", "format version 2 is newer than ...",
// "truncated", "checksum mismatch").
Result<SnapshotFile> openSnapshotFile(std::string_view bytes);

// Decompresses a payload (at most kMaxSnapshotRowsBytes) and splits it into
// store rows. kInvalidArgument when it is not a valid payload.
Result<std::vector<RowWrite>> readSnapshotPayload(std::string_view payload);

// What a snapshot file holds, once every row is checked.
struct SnapshotSummary {
  uint32_t version = 0;
  uint64_t index = 0;
  uint64_t fileBytes = 0;
  uint64_t nodes = 0;
  uint64_t services = 0;  // service instances
  uint64_t checks = 0;
};

// openSnapshotFile, then decodes and checks every row as a restore would
// (restoredView in apply.hpp): a file that verifies is one a server of this
// version accepts.
Result<SnapshotSummary> verifySnapshotFile(std::string_view bytes);

}  // namespace cairn::registry
