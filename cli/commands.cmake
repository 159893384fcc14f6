# The CLI's client commands (services, catalog, health) as a library, so that
# main.cpp stays small and the commands are testable. Included from
# cli/CMakeLists.txt; paths are relative to this file.
add_library(cairn_cli_commands STATIC
  ${CMAKE_CURRENT_LIST_DIR}/client_commands.cpp
  ${CMAKE_CURRENT_LIST_DIR}/acl_commands.cpp
  ${CMAKE_CURRENT_LIST_DIR}/client_flags.cpp
  ${CMAKE_CURRENT_LIST_DIR}/handler.cpp
  ${CMAKE_CURRENT_LIST_DIR}/output.cpp
  ${CMAKE_CURRENT_LIST_DIR}/query_commands.cpp
  ${CMAKE_CURRENT_LIST_DIR}/resolve_command.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service_definition.cpp
  ${CMAKE_CURRENT_LIST_DIR}/snapshot_commands.cpp
  ${CMAKE_CURRENT_LIST_DIR}/watch_command.cpp)
target_include_directories(cairn_cli_commands PUBLIC ${PROJECT_SOURCE_DIR})
# registry: the snapshot file format, checked before a save is written and
# before a restore is sent.
target_link_libraries(cairn_cli_commands PRIVATE cairn_client cairn_registry cairn_common
                                                 Boost::json)

cairn_test(cli_commands_test
  ${CMAKE_CURRENT_LIST_DIR}/client_commands_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/client_flags_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/handler_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/output_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/service_definition_test.cpp)
target_link_libraries(cli_commands_test PRIVATE cairn_cli_commands cairn_client_testing
                                                cairn_registry)
