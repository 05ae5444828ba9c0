// raft.sim: many seeds of the whole-cluster simulation (tests/server/raft_sim_harness.h).
// raft.sim_soak: the same with far more seeds and longer runs (label soak, not run by default).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "tests/server/raft_sim_harness.h"
#include "tests/sim/seeds.h"

namespace cairn::raft::sim {
namespace {

std::string Repro(uint64_t seed, const char* suite) {
  return "replay: CAIRN_SEED=" + std::to_string(seed) + " ./tests/server/cairn_test_raft --test-suite=" + suite;
}

void RunSeeds(const char* suite, uint64_t base, uint64_t default_count, uint64_t chaos_ticks) {
  const auto start = std::chrono::steady_clock::now();
  uint64_t acked = 0;
  uint64_t crashes = 0;
  uint64_t snapshots = 0;
  uint64_t member_changes = 0;
  uint64_t reads = 0;
  const std::vector<uint64_t> seeds = cairn::sim::TestSeeds(default_count, base);
  const bool single = seeds.size() == 1;
  for (uint64_t seed : seeds) {
    SimOptions opt;
    opt.voters = (seed % 2 == 0) ? 3 : 5;
    opt.chaos_ticks = chaos_ticks;
    opt.trace = single && std::getenv("CAIRN_TRACE") != nullptr;
    const SimResult r = RunSimulation(seed, opt);
    if (!r.ok) {
      FAIL_CHECK("seed " << seed << " (" << opt.voters << " voters): " << r.violation << "\n  " << Repro(seed, suite)
                         << "  (CAIRN_TRACE=1 prints every event)");
      return;
    }
    acked += r.acked;
    crashes += r.crashes;
    snapshots += r.snapshots_sent;
    member_changes += r.member_changes;
    reads += r.reads_checked;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE(std::string(suite) << ": " << seeds.size() << " seeds in " << secs << " s; acknowledged proposals " << acked
                             << ", crashes " << crashes << ", snapshots sent " << snapshots << ", membership changes "
                             << member_changes << ", reads checked " << reads);
  std::printf("%s: %zu seeds in %.1f s\n", suite, seeds.size(), secs);
}

}  // namespace

TEST_SUITE("raft.sim") {
  TEST_CASE("random faults on 3- and 5-server clusters keep every safety property") {
    RunSeeds("raft.sim", 1, 2000, 800);
  }

  TEST_CASE("a seed replays exactly") {
    SimOptions opt;
    opt.voters = 5;
    const SimResult a = RunSimulation(424242, opt);
    const SimResult b = RunSimulation(424242, opt);
    CHECK(a.ok);
    CHECK(a.events == b.events);
    CHECK(a.trace_hash == b.trace_hash);
  }
}

TEST_SUITE("raft.sim_soak") {
  TEST_CASE("soak: many more seeds, longer runs") { RunSeeds("raft.sim_soak", 1000000, 50000, 400); }
}

}  // namespace cairn::raft::sim
