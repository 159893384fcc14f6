# Installs the client library as a package (component "client"):
#   <prefix>/include/cairn/{client,common}/*.hpp
#   <prefix>/lib/libcairn_{client,asio,asio_ssl,base}.a
#   <prefix>/lib/cmake/Cairn/CairnConfig.cmake  -> find_package(Cairn), Cairn::client
#   <prefix>/lib/pkgconfig/cairn-client.pc      -> pkg-config --cflags --libs cairn-client
# Consumers include "client/client.hpp" (or <cairn/client/client.hpp>).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(CAIRN_INCLUDE_SUBDIR ${CMAKE_INSTALL_INCLUDEDIR}/cairn)
foreach(t cairn_client cairn_base)
  target_include_directories(${t} INTERFACE
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    $<INSTALL_INTERFACE:${CAIRN_INCLUDE_SUBDIR}>)
endforeach()

install(TARGETS cairn_client cairn_base cairn_asio cairn_asio_ssl EXPORT CairnTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT client)
install(FILES
          ${PROJECT_SOURCE_DIR}/client/address.hpp
          ${PROJECT_SOURCE_DIR}/client/api_paths.hpp
          ${PROJECT_SOURCE_DIR}/client/async.hpp
          ${PROJECT_SOURCE_DIR}/client/client.hpp
          ${PROJECT_SOURCE_DIR}/client/resolver.hpp
          ${PROJECT_SOURCE_DIR}/client/srv.hpp
          ${PROJECT_SOURCE_DIR}/client/types.hpp
          ${PROJECT_SOURCE_DIR}/client/watch.hpp
          ${PROJECT_SOURCE_DIR}/client/worker.hpp
        DESTINATION ${CAIRN_INCLUDE_SUBDIR}/client COMPONENT client)
install(FILES ${PROJECT_SOURCE_DIR}/common/result.hpp ${PROJECT_SOURCE_DIR}/common/duration.hpp
        DESTINATION ${CAIRN_INCLUDE_SUBDIR}/common COMPONENT client)

set(CAIRN_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Cairn)
install(EXPORT CairnTargets NAMESPACE Cairn:: DESTINATION ${CAIRN_CMAKE_DIR} COMPONENT client)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/CairnConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/CairnConfig.cmake
                              INSTALL_DESTINATION ${CAIRN_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/CairnConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/CairnConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/CairnConfigVersion.cmake
        DESTINATION ${CAIRN_CMAKE_DIR} COMPONENT client)

# pkg-config: the prefix is computed from the .pc file's own place, so the
# tree can be installed with --prefix anywhere.
file(RELATIVE_PATH CAIRN_PC_TO_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
configure_file(${CMAKE_CURRENT_LIST_DIR}/cairn-client.pc.in
               ${CMAKE_CURRENT_BINARY_DIR}/cairn-client.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/cairn-client.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT client)
