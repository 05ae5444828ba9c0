// /proc readings for the benchmarks (see proc_sample.h).
#include "tests/bench/proc_sample.h"

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "tests/bench/bench_flags.h"

namespace cairn::bench {
namespace {

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n')) ++pos;
    size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n') ++end;
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// The line of `text` that starts with `prefix`, without the prefix; nullopt when none does.
std::optional<std::string_view> LineAfter(std::string_view text, std::string_view prefix) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    if (line.starts_with(prefix)) return line.substr(prefix.size());
    pos = eol + 1;
  }
  return std::nullopt;
}

}  // namespace

Result<uint64_t> StatusField(std::string_view status_text, std::string_view name) {
  const std::optional<std::string_view> rest = LineAfter(status_text, std::string(name) + ":");
  if (!rest) return Status::NotFound("no " + std::string(name) + " line");
  const std::vector<std::string_view> words = SplitSpaces(*rest);
  const std::optional<uint64_t> value = words.empty() ? std::nullopt : ParseDecimal(words[0]);
  if (!value) return Status::InvalidArgument("the " + std::string(name) + " line holds no number");
  return *value;
}

Result<uint64_t> CpuTicksFromStat(std::string_view stat_text) {
  const size_t paren = stat_text.rfind(')');
  if (paren == std::string_view::npos) return Status::InvalidArgument("no ')' after the command name");
  // Tokens after ") " start at field 3 (state); utime and stime are fields 14 and 15.
  const std::vector<std::string_view> fields = SplitSpaces(stat_text.substr(paren + 1));
  if (fields.size() < 13) return Status::InvalidArgument("too few fields after the command name");
  const std::optional<uint64_t> utime = ParseDecimal(fields[11]);
  const std::optional<uint64_t> stime = ParseDecimal(fields[12]);
  if (!utime || !stime) return Status::InvalidArgument("utime or stime is not a number");
  return *utime + *stime;
}

Result<uint64_t> CpuNsFromSchedstat(std::string_view schedstat_text) {
  const std::vector<std::string_view> fields = SplitSpaces(schedstat_text);
  const std::optional<uint64_t> ns = fields.empty() ? std::nullopt : ParseDecimal(fields[0]);
  if (!ns) return Status::InvalidArgument("schedstat does not start with a number");
  return *ns;
}

Result<uint64_t> SoftOpenFilesFromLimits(std::string_view limits_text) {
  const std::optional<std::string_view> rest = LineAfter(limits_text, "Max open files");
  if (!rest) return Status::NotFound("no 'Max open files' line");
  const std::vector<std::string_view> words = SplitSpaces(*rest);
  if (words.empty()) return Status::InvalidArgument("the 'Max open files' line is empty");
  if (words[0] == "unlimited") return std::numeric_limits<uint64_t>::max();
  const std::optional<uint64_t> value = ParseDecimal(words[0]);
  if (!value) return Status::InvalidArgument("the 'Max open files' soft limit is not a number");
  return *value;
}

Result<ProcSample> SampleProcess(Env& env, int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  auto read = [&](const std::string& name) -> Result<std::string> { return env.ReadFile(dir + "/" + name); };
  auto named = [&](const std::string& name, const Status& status) { return status.WithContext(dir + "/" + name); };
  ProcSample sample;
  Result<std::string> status = read("status");
  if (!status.IsOk()) return named("status", status.GetStatus());
  Result<uint64_t> rss = StatusField(*status, "VmRSS");
  Result<uint64_t> threads = StatusField(*status, "Threads");
  if (!rss.IsOk()) return named("status", rss.GetStatus());
  if (!threads.IsOk()) return named("status", threads.GetStatus());
  sample.rss_kb = *rss;
  sample.threads = *threads;
  Result<std::string> stat = read("stat");
  if (!stat.IsOk()) return named("stat", stat.GetStatus());
  Result<uint64_t> ticks = CpuTicksFromStat(*stat);
  if (!ticks.IsOk()) return named("stat", ticks.GetStatus());
  sample.cpu_ticks = *ticks;
  Result<std::string> limits = read("limits");
  if (!limits.IsOk()) return named("limits", limits.GetStatus());
  Result<uint64_t> soft = SoftOpenFilesFromLimits(*limits);
  if (!soft.IsOk()) return named("limits", soft.GetStatus());
  sample.fds_soft_max = *soft;
  // A thread may exit between the listing and the read; it is left out.
  Result<std::vector<std::string>> tasks = env.ListDir(dir + "/task");
  if (!tasks.IsOk()) return named("task", tasks.GetStatus());
  for (const std::string& tid : *tasks) {
    Result<std::string> schedstat = read("task/" + tid + "/schedstat");
    if (!schedstat.IsOk()) continue;
    Result<uint64_t> ns = CpuNsFromSchedstat(*schedstat);
    if (!ns.IsOk()) return named("task/" + tid + "/schedstat", ns.GetStatus());
    sample.cpu_ns += *ns;
  }
  Result<std::vector<std::string>> fds = env.ListDir(dir + "/fd");
  if (!fds.IsOk()) return named("fd", fds.GetStatus());
  sample.fds = fds->size();
  return sample;
}

}  // namespace cairn::bench
