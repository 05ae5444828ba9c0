# The Raft peer transport, on the simulator and on real sockets.
cairn_test_binary(cairn_test_raft_transport SOURCES peer_transport_test.cpp LINKS cairn_raft_transport cairn_sim)
cairn_doctest_suite(cairn_test_raft_transport raft.transport LABELS sim)
cairn_doctest_suite(cairn_test_raft_transport raft.transport_uv LABELS unit)
