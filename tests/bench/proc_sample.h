// Readings of another process from /proc (memory, threads, CPU, descriptors), for benchmarks
// that watch a server while they load it. The parsers are pure, so they are unit-tested on
// captured text; SampleProcess reads the files through an Env.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/env.h"
#include "common/status.h"

namespace cairn::bench {

struct ProcSample {
  uint64_t rss_kb = 0;        // VmRSS
  uint64_t threads = 0;       // Threads
  uint64_t cpu_ticks = 0;     // utime + stime, in clock ticks (sysconf(_SC_CLK_TCK))
  uint64_t cpu_ns = 0;        // time on a CPU of the threads alive now, from their schedstat (ns)
  uint64_t fds = 0;           // entries in /proc/<pid>/fd
  uint64_t fds_soft_max = 0;  // RLIMIT_NOFILE's soft limit; UINT64_MAX for "unlimited"
};

// The number of a "Name:\t<number>[ kB]" line of /proc/<pid>/status ("VmRSS", "Threads").
Result<uint64_t> StatusField(std::string_view status_text, std::string_view name);
// utime + stime (fields 14 and 15) of /proc/<pid>/stat; the command name in parentheses may
// hold spaces and parentheses, so fields are counted from the last ')'.
Result<uint64_t> CpuTicksFromStat(std::string_view stat_text);
// The first field of /proc/<pid>/task/<tid>/schedstat: nanoseconds the thread ran. Finer than
// the clock ticks of `stat` (10 ms), which an idle process barely moves.
Result<uint64_t> CpuNsFromSchedstat(std::string_view schedstat_text);
// The soft limit of the "Max open files" line of /proc/<pid>/limits.
Result<uint64_t> SoftOpenFilesFromLimits(std::string_view limits_text);

// Reads all of ProcSample for `pid`; an error names the file that could not be read or parsed
// (most often: the process has exited).
Result<ProcSample> SampleProcess(Env& env, int pid);

}  // namespace cairn::bench
