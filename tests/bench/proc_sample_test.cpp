// bench.proc_sample: the /proc parsers the benchmarks use to read a server's memory, threads,
// CPU and descriptor limit, on text captured from Linux.
#include "tests/bench/proc_sample.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <limits>

#include "common/uv_env.h"

namespace cairn::bench {
namespace {

TEST_SUITE("bench.proc_sample") {
  TEST_CASE("status fields: VmRSS in kB and Threads") {
    const std::string status =
        "Name:\tcairn\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  812344 kB\nVmRSS:\t   17468 kB\n"
        "RssAnon:\t    6012 kB\nThreads:\t11\nSigQ:\t0/15437\n";
    CHECK(StatusField(status, "VmRSS").ValueOr(0) == 17468);
    CHECK(StatusField(status, "Threads").ValueOr(0) == 11);
    CHECK_FALSE(StatusField(status, "VmSwap").IsOk());
    CHECK_FALSE(StatusField("VmRSS:\t kB\n", "VmRSS").IsOk());
  }

  TEST_CASE("stat: utime + stime counted from the last ')' of the command name") {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const std::string stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 900 0 3 0 1234 567 0 0 20 0 11 0 99\n";
    CHECK(CpuTicksFromStat(stat).ValueOr(0) == 1234 + 567);
    CHECK_FALSE(CpuTicksFromStat("4242 (x) S 1 2").IsOk());
    CHECK_FALSE(CpuTicksFromStat("no parenthesis").IsOk());
  }

  TEST_CASE("schedstat: nanoseconds on a CPU come first") {
    CHECK(CpuNsFromSchedstat("1262209 534481 2\n").ValueOr(0) == 1262209);
    CHECK_FALSE(CpuNsFromSchedstat("").IsOk());
  }

  TEST_CASE("limits: the soft limit of Max open files, or unlimited") {
    const std::string limits =
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max processes             15437                15437                processes \n"
        "Max open files            1024                 20000                files     \n";
    CHECK(SoftOpenFilesFromLimits(limits).ValueOr(0) == 1024);
    CHECK(SoftOpenFilesFromLimits("Max open files            unlimited            unlimited            files\n")
              .ValueOr(0) == std::numeric_limits<uint64_t>::max());
    CHECK_FALSE(SoftOpenFilesFromLimits("Max processes 1 1 processes\n").IsOk());
  }

  TEST_CASE("sampling this process gives plausible numbers; a process that does not exist is an error") {
    UvEnv env;
    Result<ProcSample> self = SampleProcess(env, static_cast<int>(::getpid()));
    REQUIRE(self.IsOk());
    CHECK(self->rss_kb > 0);
    CHECK(self->threads >= 1);
    CHECK(self->fds >= 3);
    CHECK(self->cpu_ns > 0);
    CHECK(self->fds_soft_max >= self->fds);
    CHECK_FALSE(SampleProcess(env, 0x7ffffff0).IsOk());
  }
}

}  // namespace
}  // namespace cairn::bench
