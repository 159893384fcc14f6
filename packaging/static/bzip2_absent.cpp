// The packaged binary has no bzip2 (CAIRN_PACKAGE). RocksDB's static archive
// refers to libbz2 for its optional bzip2 block compression, which Cairn
// never selects (its column families use RocksDB's default, snappy), so no
// block Cairn reads or writes is bzip2. Linking libbz2 is not an option:
// Debian names it libbz2.so.1.0 and EL9 libbz2.so.1, so one binary cannot
// require both; embedding it is what lintian refuses (embedded-library).
// These entry points answer BZ_CONFIG_ERROR, which RocksDB reports as a
// failed (de)compression, not a crash.
namespace {
constexpr int kBzConfigError = -9;  // BZ_CONFIG_ERROR in bzlib.h
}  // namespace

extern "C" {
int BZ2_bzCompressInit(void*, int, int, int) {
  return kBzConfigError;
}
int BZ2_bzCompress(void*, int) {
  return kBzConfigError;
}
int BZ2_bzCompressEnd(void*) {
  return kBzConfigError;
}
int BZ2_bzDecompressInit(void*, int, int) {
  return kBzConfigError;
}
int BZ2_bzDecompress(void*) {
  return kBzConfigError;
}
int BZ2_bzDecompressEnd(void*) {
  return kBzConfigError;
}
}
