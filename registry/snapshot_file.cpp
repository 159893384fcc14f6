#include "registry/snapshot_file.hpp"

#include <openssl/evp.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <memory>

#include "registry/apply.hpp"
#include "registry/snapshot.hpp"

namespace cairn::registry {
namespace {

constexpr std::string_view kMagic = "CAIRNSNP";
constexpr uint32_t kEncodingZstd = 1;
constexpr size_t kChecksumOffset = 32;
constexpr size_t kChecksumBytes = 32;
// zstd's default level: about 10x on catalog rows at a few hundred MB/s.
constexpr int kZstdLevel = 3;

void putBig(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t getBig(std::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[offset + i]);
  return v;
}

using Digest = std::array<unsigned char, kChecksumBytes>;

Digest sha256(std::string_view head, std::string_view payload) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  Digest out{};
  unsigned int len = 0;
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx.get(), head.data(), head.size()) == 1 &&
            EVP_DigestUpdate(ctx.get(), payload.data(), payload.size()) == 1 &&
            EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size();
  CAIRN_CHECK(ok, "OpenSSL SHA-256 works");
  return out;
}

}  // namespace

std::string writeSnapshotFile(const View& v) {
  std::string rows = serializeView(v);
  std::string out;
  out.resize(kSnapshotHeaderBytes + ZSTD_compressBound(rows.size()));
  size_t n = ZSTD_compress(out.data() + kSnapshotHeaderBytes, out.size() - kSnapshotHeaderBytes,
                           rows.data(), rows.size(), kZstdLevel);
  CAIRN_CHECK(!ZSTD_isError(n), "zstd compresses into a buffer of its compressBound");
  out.resize(kSnapshotHeaderBytes + n);
  std::string head(kMagic);
  putBig(head, kSnapshotFileVersion, 4);
  putBig(head, kEncodingZstd, 4);
  putBig(head, v.index, 8);
  putBig(head, n, 8);
  Digest d = sha256(head, std::string_view(out).substr(kSnapshotHeaderBytes));
  head.append(reinterpret_cast<const char*>(d.data()), d.size());
  out.replace(0, kSnapshotHeaderBytes, head);
  return out;
}

Result<SnapshotFile> openSnapshotFile(std::string_view bytes) {
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    return invalidArgument("not a Cairn snapshot file (bad magic bytes)");
  SnapshotFile f;
  // The version first: a newer format may have another header size.
  if (bytes.size() >= 12) {
    f.version = static_cast<uint32_t>(getBig(bytes, 8, 4));
    if (f.version > kSnapshotFileVersion)
      return invalidArgument("snapshot format version " + std::to_string(f.version) +
                             " is newer than this binary understands (up to " +
                             std::to_string(kSnapshotFileVersion) + "); use a newer cairn");
    if (f.version == 0) return invalidArgument("snapshot format version 0 is not valid");
  }
  if (bytes.size() < kSnapshotHeaderBytes)
    return invalidArgument("snapshot file is truncated: " + std::to_string(bytes.size()) +
                           " bytes, shorter than its " + std::to_string(kSnapshotHeaderBytes) +
                           "-byte header");
  auto encoding = static_cast<uint32_t>(getBig(bytes, 12, 4));
  if (encoding != kEncodingZstd)
    return invalidArgument("snapshot payload encoding " + std::to_string(encoding) + " is unknown");
  f.index = getBig(bytes, 16, 8);
  uint64_t length = getBig(bytes, 24, 8);
  uint64_t have = bytes.size() - kSnapshotHeaderBytes;
  if (length > have)
    return invalidArgument("snapshot file is truncated: the header announces " +
                           std::to_string(length) + " payload bytes, the file holds " +
                           std::to_string(have));
  if (length < have)
    return invalidArgument("snapshot file has " + std::to_string(have - length) +
                           " bytes of trailing garbage after its payload");
  f.payload = bytes.substr(kSnapshotHeaderBytes);
  Digest d = sha256(bytes.substr(0, kChecksumOffset), f.payload);
  if (bytes.substr(kChecksumOffset, kChecksumBytes) !=
      std::string_view(reinterpret_cast<const char*>(d.data()), d.size()))
    return invalidArgument("snapshot file is corrupt: SHA-256 checksum mismatch");
  return f;
}

Result<std::vector<RowWrite>> readSnapshotPayload(std::string_view payload) {
  unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return invalidArgument("snapshot payload is not a zstd frame with a known size");
  if (size > kMaxSnapshotRowsBytes)
    return invalidArgument("snapshot payload decompresses to " + std::to_string(size) +
                           " bytes, more than the limit of " +
                           std::to_string(kMaxSnapshotRowsBytes));
  std::string rows(static_cast<size_t>(size), '\0');
  size_t n = ZSTD_decompress(rows.data(), rows.size(), payload.data(), payload.size());
  if (ZSTD_isError(n))
    return invalidArgument(std::string("snapshot payload does not decompress: ") +
                           ZSTD_getErrorName(n));
  if (n != rows.size())
    return invalidArgument("snapshot payload decompresses to fewer bytes than it announces");
  auto parsed = parseSnapshot(rows);
  if (!parsed.ok()) return invalidArgument(parsed.error().message);
  return parsed;
}

Result<SnapshotSummary> verifySnapshotFile(std::string_view bytes) {
  auto f = openSnapshotFile(bytes);
  if (!f.ok()) return f.error();
  auto v = restoredView(f->payload, std::max<uint64_t>(f->index, 1));
  if (!v.ok()) return v.error();
  return SnapshotSummary{
      f->version,      f->index, bytes.size(), v->nodes.size(), v->nodeServices.size(),
      v->checks.size()};
}

}  // namespace cairn::registry
