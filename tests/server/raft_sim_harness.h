// A deterministic cluster simulation for the Raft core, driven by one seed.
//
// Everything (message delays, drops, duplicates, reordering, partitions, crashes, disk latency,
// the workload, the fault mix itself) is drawn from Prng(seed), and events at equal times run
// in scheduling order, so a seed replays exactly.
//
// Model:
//   - virtual time in units; each node ticks its Raft every ~100 units (per-node period within
//     +-5%, so clocks drift a little);
//   - every message is encoded with the wire codec and decoded on delivery;
//   - each node's MemoryStorage is its durable disk. A Ready is written only when its simulated
//     disk write completes (after a random latency); the node keeps stepping messages and
//     ticking meanwhile. A crash throws away the in-flight write and everything volatile;
//     a restart rebuilds Raft and the state machine from the durable storage;
//   - membership changes (add learner, promote, remove), snapshots with log compaction and
//     ReadIndex / lease reads are part of the workload.
// The checker runs after every event: election safety, log matching, leader completeness,
// state-machine safety, read linearizability, and that acknowledged proposals survive; after
// the chaos phase the faults heal and the cluster must elect a leader, commit a new proposal
// and bring every member up to date within a bounded number of ticks.
#pragma once

#include <cstdint>
#include <string>

#include "server/raft/raft.h"

namespace cairn::raft::sim {

struct SimOptions {
  int voters = 3;                 // 3 or 5
  uint64_t chaos_ticks = 200;     // ticks of faults
  uint64_t calm_ticks_max = 400;  // after healing, the cluster must converge within this
  TestingBug bug = TestingBug::kNone;
  // When true, the fault mix is drawn from the seed; otherwise the fields below are used.
  bool swarm = true;
  double drop_probability = 0.05;
  double duplicate_probability = 0.02;
  uint64_t delay_max_units = 150;
  uint64_t disk_delay_max_units = 60;
  double crash_per_tick = 0.01;
  double partition_per_tick = 0.02;
  double heal_per_tick = 0.05;
  double propose_per_tick = 0.5;
  double read_per_tick = 0.1;
  double member_change_per_tick = 0.01;
  double transfer_per_tick = 0.005;
  bool lease_reads = false;
  uint64_t append_bytes_max = 256;
  bool trace = false;  // print every event to stderr
};

struct SimResult {
  bool ok = true;
  std::string violation;  // first broken property, with context
  uint64_t acked = 0;
  uint64_t max_term = 0;
  uint64_t crashes = 0;
  uint64_t snapshots_sent = 0;
  uint64_t member_changes = 0;
  uint64_t reads_checked = 0;
  uint64_t events = 0;
  uint64_t trace_hash = 0;  // digest of every event, to prove replays are identical
};

SimResult RunSimulation(uint64_t seed, const SimOptions& options);

}  // namespace cairn::raft::sim
