# The Raft host: durable storage over the log store, and a replica on a real UvEnv.
cairn_test_binary(cairn_test_raft_host
  SOURCES
    durable_storage_test.cpp
    raft_host_test.cpp
  LINKS cairn_raft_host)
cairn_doctest_suite(cairn_test_raft_host raft.durable_storage LABELS unit)
cairn_doctest_suite(cairn_test_raft_host raft.host LABELS unit TIMEOUT 120)

# Three replica processes on 127.0.0.1: leader killed and restarted, nothing acknowledged lost.
find_program(CAIRN_PYTHON3 python3 REQUIRED)
add_test(NAME server.raft_cluster
  COMMAND ${CAIRN_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/raft_cluster_test.py
          $<TARGET_FILE:cairn_raft_bench_server> $<TARGET_FILE:cairn_raft_bench_load>)
set_tests_properties(server.raft_cluster PROPERTIES LABELS integration TIMEOUT 60)
