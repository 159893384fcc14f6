# The packaged binary's dependencies (CAIRN_PACKAGE=ON; scripts/package sets
# it). Defines the same target names the development build gets from
# find_package, so no component's CMakeLists changes:
#
#   RocksDB, protobuf, c-ares, nghttp2, liburing,   static archives
#   snappy,
#   lz4, zstd
#   spdlog, fmt, Boost.JSON                         header-only (Debian ships
#                                                   no static archives of them)
#   libstdc++                                       -static-libstdc++
#   glibc, libgcc_s, OpenSSL 3, libsystemd, zlib    shared: the same sonames on
#                                                   Debian 12, Ubuntu 22.04, EL9
#
# zlib stays shared because every target has libz.so.1 and lintian rejects
# an embedded copy (embedded-library, an error). bzip2 is neither linked nor
# embedded: see static/bzip2_absent.cpp.
#
# Included from the top-level CMakeLists.txt in place of its find_package
# calls, so the targets are visible in every subdirectory.

set(CAIRN_LIBDIR /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})

# find_library that accepts only the static archive.
function(cairn_find_archive var name)
  find_library(${var} NAMES lib${name}.a PATHS ${CAIRN_LIBDIR} REQUIRED NO_CACHE)
  set(${var} ${${var}} PARENT_SCOPE)
endfunction()

# Boost.JSON compiled into the binary from its header-only source.
find_package(Boost 1.81 REQUIRED)
add_library(cairn_boost_json STATIC ${CMAKE_CURRENT_LIST_DIR}/static/boost_json.cpp)
target_link_libraries(cairn_boost_json PUBLIC Boost::headers)
target_compile_definitions(cairn_boost_json PUBLIC BOOST_JSON_NO_LIB BOOST_CONTAINER_NO_LIB)
add_library(Boost::json ALIAS cairn_boost_json)

# spdlog and fmt header-only.
find_package(fmt REQUIRED)
add_library(spdlog::spdlog INTERFACE IMPORTED)
set_target_properties(spdlog::spdlog PROPERTIES
  INTERFACE_COMPILE_DEFINITIONS SPDLOG_FMT_EXTERNAL
  INTERFACE_LINK_LIBRARIES "Threads::Threads;fmt::fmt-header-only")

find_package(ZLIB REQUIRED)

set(Protobuf_USE_STATIC_LIBS ON)
find_package(Protobuf REQUIRED)
set_property(TARGET protobuf::libprotobuf APPEND PROPERTY
  INTERFACE_LINK_LIBRARIES ZLIB::ZLIB Threads::Threads)

# The name the registry links; here it is the static archive.
cairn_find_archive(CAIRN_ZSTD_A zstd)
add_library(zstd::libzstd_shared STATIC IMPORTED)
set_target_properties(zstd::libzstd_shared PROPERTIES IMPORTED_LOCATION ${CAIRN_ZSTD_A})

# Pre-empts dns/'s pkg_check_modules(CARES ... IMPORTED_TARGET), which keeps
# a target that already exists.
cairn_find_archive(CAIRN_CARES_A cares)
add_library(PkgConfig::CARES INTERFACE IMPORTED)
set_target_properties(PkgConfig::CARES PROPERTIES INTERFACE_LINK_LIBRARIES ${CAIRN_CARES_A})

# The same for the root's pkg_check_modules(NGHTTP2 ...) (gRPC checks).
cairn_find_archive(CAIRN_NGHTTP2_A nghttp2)
add_library(PkgConfig::NGHTTP2 INTERFACE IMPORTED)
set_target_properties(PkgConfig::NGHTTP2 PROPERTIES INTERFACE_LINK_LIBRARIES ${CAIRN_NGHTTP2_A})

# The same for pkg_check_modules(URING ...) (the health checker's io_uring).
cairn_find_archive(CAIRN_URING_A uring)
add_library(PkgConfig::URING INTERFACE IMPORTED)
set_target_properties(PkgConfig::URING PROPERTIES INTERFACE_LINK_LIBRARIES ${CAIRN_URING_A})

add_library(cairn_bzip2_absent STATIC ${CMAKE_CURRENT_LIST_DIR}/static/bzip2_absent.cpp)
find_path(ROCKSDB_INCLUDE_DIR rocksdb/db.h REQUIRED)
cairn_find_archive(CAIRN_ROCKSDB_A rocksdb)
cairn_find_archive(CAIRN_SNAPPY_A snappy)
cairn_find_archive(CAIRN_LZ4_A lz4)
add_library(RocksDB::rocksdb STATIC IMPORTED)
set_target_properties(RocksDB::rocksdb PROPERTIES
  IMPORTED_LOCATION ${CAIRN_ROCKSDB_A}
  INTERFACE_INCLUDE_DIRECTORIES ${ROCKSDB_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES
    "${CAIRN_SNAPPY_A};${CAIRN_LZ4_A};zstd::libzstd_shared;ZLIB::ZLIB;cairn_bzip2_absent;Threads::Threads;${CMAKE_DL_LIBS}")

# arc4random for the static libstdc++ (see static/glibc_compat.cpp); an
# object library, so packaging/CMakeLists.txt links it into `cairn` whole
# and it wins over glibc's GLIBC_2.36 one.
add_library(cairn_glibc_compat OBJECT ${CMAKE_CURRENT_LIST_DIR}/static/glibc_compat.cpp)

# Every executable: libstdc++ inside (Debian 12's librocksdb.a needs
# GLIBCXX_3.4.30; EL9's libstdc++ stops at 3.4.29), and the hardening
# lintian looks for (PIE is the compiler's default on Debian). libgcc stays
# shared: GCC 12's static unwinder calls _dl_find_object (GLIBC_2.35), while
# libgcc_s.so.1 is on every target and we need only its GCC_4.2.0 symbols.
add_link_options(-static-libstdc++ -Wl,-z,relro -Wl,-z,now -Wl,--as-needed)
add_compile_options(-fstack-protector-strong -D_FORTIFY_SOURCE=2)
