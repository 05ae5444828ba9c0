// raft.checker: the simulation checker must catch deliberately broken Raft variants
// (RaftConfig::testing_bug) within the CI seed budget. A broken variant may also trip one of the
// core's own CAIRN_ASSERTs, which aborts the process; each seed therefore runs in a forked child,
// and either way of failing counts as "caught".
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "tests/server/raft_sim_harness.h"

namespace cairn::raft::sim {
namespace {

enum class Outcome { kPassed, kViolation, kAborted };

// Runs a batch of seeds in a child process; the child exits 1 at the first violation.
Outcome RunBatchInChild(TestingBug bug, uint64_t first, uint64_t count, uint64_t& failing_seed) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    for (uint64_t seed = first; seed < first + count; ++seed) {
      // Each attempt reports its seed first, so an abort is attributable.
      (void)!write(fds[1], &seed, sizeof(seed));
      SimOptions opt;
      // Figure 8 of the Raft paper needs five servers; the other bugs show up with either size.
      opt.voters = (bug == TestingBug::kCommitPreviousTermByCounting || seed % 2 == 1) ? 5 : 3;
      opt.chaos_ticks = 600;
      opt.bug = bug;
      const SimResult r = RunSimulation(seed, opt);
      if (!r.ok) {
        std::fprintf(stderr, "  caught: seed %llu: %s\n", static_cast<unsigned long long>(seed), r.violation.c_str());
        _exit(1);
      }
    }
    _exit(0);
  }
  close(fds[1]);
  uint64_t seed = 0;
  while (read(fds[0], &seed, sizeof(seed)) == static_cast<ssize_t>(sizeof(seed))) failing_seed = seed;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Outcome::kPassed;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1) return Outcome::kViolation;
  return Outcome::kAborted;
}

void ExpectCaught(TestingBug bug, const char* name) {
  constexpr uint64_t kBudget = 2000;
  constexpr uint64_t kBatch = 250;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t first = 1; first <= kBudget; first += kBatch) {
    uint64_t seed = 0;
    const Outcome outcome = RunBatchInChild(bug, first, kBatch, seed);
    if (outcome == Outcome::kPassed) continue;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    MESSAGE(std::string(name) << " caught at seed " << seed << " by "
                              << std::string(outcome == Outcome::kViolation ? "the simulation checker"
                                                                            : "a core assertion (abort)")
                              << " after " << secs << " s");
    return;
  }
  FAIL_CHECK(std::string(name) << " was NOT caught within " << kBudget << " seeds");
}

}  // namespace

TEST_SUITE("raft.checker") {
  TEST_CASE("commit of a previous-term entry by counting replicas is caught") {
    ExpectCaught(TestingBug::kCommitPreviousTermByCounting, "commit-previous-term");
  }
  TEST_CASE("acknowledging an append before it is durable is caught") {
    ExpectCaught(TestingBug::kAckAppendBeforePersist, "ack-before-persist");
  }
  TEST_CASE("granting a vote without the log up-to-date check is caught") {
    ExpectCaught(TestingBug::kVoteWithoutLogCheck, "vote-without-log-check");
  }
}

}  // namespace cairn::raft::sim
