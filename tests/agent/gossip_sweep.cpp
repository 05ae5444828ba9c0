// cairn_gossip_sweep: SWIM against cluster size on the deterministic simulator (gossip_sim_harness),
// to compare with the paper's expectations: constant load per member, dissemination in
// O(log n) protocol periods. For every size x seed it runs these clusters:
//
//   A (LAN defaults): mass join -> convergence; settle; steady load over at least one push-pull
//     interval after the first push-pull round; one metadata update -> time until everyone has
//     it; crash one member (its machine goes silent) -> first suspicion, first failed, all know;
//     kill another (its process ends, its machine answers port unreachable) -> the same; then
//     each packet-loss level in turn -> false failure and suspicion events.
//   B (TCP fallback probe off; sizes up to --udp-only-members-max): join, settle, the same loss
//     levels -> false failures (the simulator's TCP is lossless, so with the fallback on, loss
//     alone cannot fail anyone).
//   C (a fraction of members slowed, Lifeguard on): join, run, count false failures; with
//     --lifeguard-off-too the same again without Lifeguard.
//
// Output is CSV on stdout, one row per size x seed x metric: `members,seed,metric,value`.
// Progress and failures go to stderr; a failure prints the seed and the command that reruns it,
// and makes the exit status 1. False failures under loss or slowness are measurements, not
// failures, but their seed and rerun command are printed too.
//
//   cairn_gossip_sweep --sizes=10,30,100 --seeds=3 [--first-seed=1] [--soak]
//     [--losses=0.1,0.3] [--loss-run=120s] [--slow-fraction=0.1] [--slow-lag=1500ms]
//     [--slow-run=120s] [--udp-only-members-max=300] [--lifeguard-off-too] [--settle=30s] [--load-window=30s]
//     [--join-limit=180s] [--crash-limit=180s]
// --soak: sizes 10000, one seed, longer limits (unless given).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "tests/agent/gossip_sim_harness.h"
#include "tests/bench/bench_flags.h"

namespace cairn::gossip::simtest {
namespace {

using namespace std::chrono_literals;

struct SweepOptions {
  std::vector<size_t> sizes;
  uint64_t seeds = 3;
  uint64_t first_seed = 1;
  Duration join_limit = 180s;
  Duration crash_limit = 180s;
  Duration settle = 30s;       // after convergence, so the join's updates and syncs drain
  Duration load_window = 30s;  // at least; see MeasureLoad
  std::vector<double> losses{0.10, 0.30};
  Duration loss_run = 120s;
  double slow_fraction = 0.10;
  Duration slow_lag = 1500ms;
  Duration slow_run = 120s;
  // Without the fallback a 1,000-member cluster at 30% loss suspects members faster than it
  // clears them, and each suspicion is a broadcast to all: over 10 CPU-minutes per seed.
  size_t udp_only_members_max = 300;
  bool lifeguard_off_too = false;
  std::string rerun_base;  // argv without the size and seed flags
};

// One size x seed: writes its rows and reports failures with the command that reruns it.
class Run {
 public:
  Run(const SweepOptions& options, size_t members, uint64_t seed) : options_(options), members_(members), seed_(seed) {}

  void Row(const std::string& metric, double value) const {
    std::printf("%zu,%llu,%s,%.6g\n", members_, static_cast<unsigned long long>(seed_), metric.c_str(), value);
    std::fflush(stdout);
  }
  void Fail(const std::string& what) {
    failed_ = true;
    std::fprintf(stderr, "FAILED: %zu members: %s\n  %s\n", members_, what.c_str(), Repro().c_str());
  }
  // Not a failure of the run, but worth a rerun to look at.
  void Note(const std::string& what) const {
    std::fprintf(stderr, "note: %zu members: %s\n  %s\n", members_, what.c_str(), Repro().c_str());
  }
  std::string Repro() const {
    return "seed=" + std::to_string(seed_) + "; rerun: " + options_.rerun_base +
           " --sizes=" + std::to_string(members_) + " --first-seed=" + std::to_string(seed_) + " --seeds=1";
  }
  bool Failed() const { return failed_; }
  const SweepOptions& Options() const { return options_; }
  size_t Members() const { return members_; }
  uint64_t Seed() const { return seed_; }

 private:
  const SweepOptions& options_;
  size_t members_;
  uint64_t seed_;
  bool failed_ = false;
};

// "12.5 s": seconds as a short number for messages.
std::string SecondsText(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", Seconds(d));
  return buf;
}

bool JoinAndConverge(Cluster& c, Run& run, const std::string& prefix) {
  c.JoinAll();
  const auto t = c.RunUntilConverged(run.Options().join_limit);
  if (!t) {
    run.Fail(prefix + "mass join did not converge within " + SecondsText(run.Options().join_limit));
    return false;
  }
  run.Row(prefix + "join_converge_s", Seconds(*t));
  return true;
}

// Push-pull runs once per PushPullInterval(n) per member, its first round one to two base
// intervals after start, so a shorter window, or one that overlaps the first round, misstates
// its rate (a 30 s window read 1,899 B/s at 1,000 members instead of 2,213). The window
// therefore starts after the first round and lasts at least one interval: every member pushes
// exactly once in it.
void MeasureLoad(Cluster& c, Run& run, MonoTime created) {
  const Duration base = SwimConfig{}.push_pull_interval;
  const MonoTime first_round_done = created + 2 * base + std::chrono::seconds(1);
  if (c.Sim().Now() < first_round_done) c.RunFor(first_round_done - c.Sim().Now());
  const Duration window = std::max(run.Options().load_window, PushPullInterval(base, c.Size()));
  const Cluster::Traffic before = c.TotalTraffic();
  c.RunFor(window);
  const Cluster::Traffic after = c.TotalTraffic();
  const double per = static_cast<double>(c.Size()) * Seconds(window);
  run.Row("load_window_s", Seconds(window));
  run.Row("load_udp_packets_per_member_s", static_cast<double>(after.packets - before.packets) / per);
  run.Row("load_udp_bytes_per_member_s", static_cast<double>(after.bytes - before.bytes) / per);
  run.Row("load_tcp_bytes_per_member_s", static_cast<double>(after.tcp_bytes - before.tcp_bytes) / per);
}

// One metadata change on member 0: the time until every member has it is one update's
// dissemination, which SWIM expects in O(log n) gossip rounds.
void MeasureDissemination(Cluster& c, Run& run) {
  const std::string datacenter = "dc-" + std::to_string(run.Seed());
  const MonoTime start = c.Sim().Now();
  if (!c.Host(0).SetMetadata(Metadata{"server", datacenter, "10.0.0.1:8300", "v2", "10.0.0.1:8500"}).IsOk()) {
    run.Fail("SetMetadata refused");
    return;
  }
  auto everyone = [&] {
    for (size_t i = 0; i < c.Size(); ++i) {
      const Member* m = c.Host(i).Core().Find(c.Name(0));
      if (m == nullptr || m->meta.datacenter != datacenter) return false;
    }
    return true;
  };
  // Checking n members after every event would cost more than the gossip; 20 ms steps are a
  // tenth of a gossip interval.
  while (!everyone()) {
    if (c.Sim().Now() - start > 60s) {
      run.Fail("a metadata update did not reach every member within 60 s");
      return;
    }
    c.RunFor(20ms);
  }
  run.Row("dissemination_s", Seconds(c.Sim().Now() - start));
}

// A crash takes a random member's machine away (silence); a kill ends only its process, so its
// machine answers with port unreachable (rows kill_*). Rows: first suspicion, first failed,
// every member knows, and the spread from the first failed to all.
void MeasureCrash(Cluster& c, Run& run, bool kill_process) {
  const std::string what = kill_process ? "kill" : "crash";
  size_t victim = 0;
  while (victim == 0 || !c.Up(victim)) victim = 1 + c.Sim().Random().Below(c.Size() - 1);
  const std::string name = c.Name(victim);
  const MonoTime crashed_at = c.Sim().Now();
  if (kill_process) {
    c.Kill(victim);
  } else {
    c.Crash(victim);
  }
  const auto t = c.RunUntilConverged(run.Options().crash_limit);
  if (!t) {
    run.Fail(what + " of " + name + " not known to all within " + SecondsText(run.Options().crash_limit) + "; " +
             std::to_string(c.CountSeeing(name, MemberState::kDead)) + " know");
    return;
  }
  const double first_failed = Seconds(*c.FirstEvent(EventKind::kFailed, name) - crashed_at);
  run.Row(what + "_first_suspect_s", Seconds(*c.FirstEvent(EventKind::kSuspect, name) - crashed_at));
  run.Row(what + "_first_failed_s", first_failed);
  run.Row(what + "_all_know_s", Seconds(*t));
  run.Row(what + "_spread_s", Seconds(*t) - first_failed);
}

// Counts false failures, distinct falsely failed members and suspicions over `window`.
struct FaultCounts {
  uint64_t false_failures = 0;
  size_t victims = 0;
  uint64_t suspects = 0;
};

FaultCounts CountOver(Cluster& c, Duration window) {
  const uint64_t failures = c.FalseFailures();
  const size_t victims = c.FalselyFailed().size();
  const uint64_t suspects = c.SuspectEvents();
  c.RunFor(window);
  return {c.FalseFailures() - failures, c.FalselyFailed().size() - victims, c.SuspectEvents() - suspects};
}

void ReportFaults(Run& run, const std::string& prefix, const FaultCounts& counts, Duration window) {
  run.Row(prefix + "_false_failure_events", static_cast<double>(counts.false_failures));
  run.Row(prefix + "_falsely_failed_members", static_cast<double>(counts.victims));
  run.Row(prefix + "_suspect_events", static_cast<double>(counts.suspects));
  if (counts.false_failures > 0) {
    run.Note(prefix + ": " + std::to_string(counts.false_failures) + " false failure events about " +
             std::to_string(counts.victims) + " members in " + SecondsText(window));
  }
}

void MeasureLoss(Cluster& c, Run& run, const ClusterOptions& o, const std::string& prefix) {
  for (double loss : run.Options().losses) {
    c.Sim().SetDefaultLinkFaults(sim::LinkFaults{loss, 0.0, o.delay_min, o.delay_max});
    const std::string name = prefix + "loss" + std::to_string(static_cast<int>(loss * 100 + 0.5));
    ReportFaults(run, name, CountOver(c, run.Options().loss_run), run.Options().loss_run);
  }
  c.Sim().SetDefaultLinkFaults(sim::LinkFaults{0.0, 0.0, o.delay_min, o.delay_max});
}

void RunBaseline(Run& run) {
  ClusterOptions o;
  o.members = run.Members();
  Cluster c(run.Seed(), o);
  const MonoTime created = c.Sim().Now();
  if (!JoinAndConverge(c, run, "")) return;
  c.RunFor(run.Options().settle);
  MeasureLoad(c, run, created);
  MeasureDissemination(c, run);
  MeasureCrash(c, run, /*kill_process=*/false);
  if (!run.Failed()) MeasureCrash(c, run, /*kill_process=*/true);
  if (c.FalseFailures() > 0) {
    run.Fail(std::to_string(c.FalseFailures()) + " false failure events with no fault injected");
  }
  if (!run.Failed()) MeasureLoss(c, run, o, "");
}

// The simulator's TCP never loses anything, so with the TCP fallback probe (the default) UDP
// loss alone cannot fail a live member: this cluster shows the protocol without it.
void RunUdpOnlyLoss(Run& run) {
  ClusterOptions o;
  o.members = run.Members();
  o.host.swim.tcp_fallback_probe = false;
  Cluster c(run.Seed(), o);
  if (!JoinAndConverge(c, run, "udponly_")) return;
  c.RunFor(run.Options().settle);
  MeasureLoss(c, run, o, "udponly_");
}

// Every k-th member (never the seed, member 0) is slowed: its timers and receives run up to
// slow_lag late.
void RunSlowed(Run& run, bool lifeguard) {
  const SweepOptions& opt = run.Options();
  ClusterOptions o;
  o.members = run.Members();
  const size_t count = std::max<size_t>(1, static_cast<size_t>(static_cast<double>(o.members) * opt.slow_fraction));
  const size_t stride = std::max<size_t>(1, (o.members - 1) / count);
  for (size_t i = 0; i < count; ++i) o.slow.insert(1 + i * stride);
  o.slow_delay_max = opt.slow_lag;
  if (!lifeguard) {
    o.host.swim.awareness_max = 1;
    o.host.swim.suspicion_max_timeout_mult = 1;
  }
  const std::string prefix = lifeguard ? "slow" : "slow_nolifeguard";
  Cluster c(run.Seed(), o);
  if (!JoinAndConverge(c, run, prefix + "_")) return;
  run.Row(prefix + "_members", static_cast<double>(o.slow.size()));
  run.Row(prefix + "_join_false_failure_events", static_cast<double>(c.FalseFailures()));
  ReportFaults(run, prefix, CountOver(c, opt.slow_run), opt.slow_run);
}

double MaxRssMegabytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double WallSecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs one cluster's scenario and records its wall time, so the cost of each can be budgeted.
void Timed(Run& run, const std::string& name, const std::function<void()>& scenario) {
  const auto start = std::chrono::steady_clock::now();
  scenario();
  run.Row(name + "_wall_s", WallSecondsSince(start));
}

bool RunOne(const SweepOptions& options, size_t members, uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  Run run(options, members, seed);
  Timed(run, "baseline", [&] { RunBaseline(run); });
  if (members <= options.udp_only_members_max) Timed(run, "udponly", [&] { RunUdpOnlyLoss(run); });
  Timed(run, "slow", [&] { RunSlowed(run, true); });
  if (options.lifeguard_off_too) Timed(run, "slow_nolifeguard", [&] { RunSlowed(run, false); });
  const double wall_s = WallSecondsSince(start);
  run.Row("wall_s", wall_s);
  run.Row("max_rss_mb", MaxRssMegabytes());
  std::fprintf(stderr, "# %zu members, seed %llu: %.1f s%s\n", members, static_cast<unsigned long long>(seed), wall_s,
               run.Failed() ? " (FAILED)" : "");
  return !run.Failed();
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (comma > pos) out.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "%s\nusage: cairn_gossip_sweep --sizes=10,30,100 --seeds=3 [--first-seed=1] [--soak] ...\n",
               why.c_str());
  std::exit(2);
}

// Everything but the size and seed flags, so that a failure's rerun keeps the other settings.
std::string RerunBase(int argc, char** argv) {
  std::string out = argv[0];
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--sizes") || arg.starts_with("--seeds") || arg.starts_with("--first-seed") ||
        arg.starts_with("--soak")) {
      continue;
    }
    out += " " + std::string(arg);
  }
  return out;
}

SweepOptions ParseOptions(int argc, char** argv) {
  const bench::Flags flags(argc, argv);
  SweepOptions o;
  const bool soak = flags.Has("soak");
  for (const std::string& s : SplitCommas(flags.Get("sizes", soak ? "10000" : "10,30,100,300,1000"))) {
    const auto n = bench::ParseDecimal(s);
    if (!n || *n < 3 || *n > kMembersMax) Usage("bad size '" + s + "' (3.." + std::to_string(kMembersMax) + ")");
    o.sizes.push_back(*n);
  }
  o.seeds = flags.GetInt("seeds", soak ? 1 : 3);
  o.first_seed = flags.GetInt("first-seed", 1);
  o.join_limit = flags.GetDuration("join-limit", soak ? Duration(600s) : o.join_limit);
  o.crash_limit = flags.GetDuration("crash-limit", soak ? Duration(600s) : o.crash_limit);
  o.settle = flags.GetDuration("settle", o.settle);
  o.load_window = flags.GetDuration("load-window", o.load_window);
  o.loss_run = flags.GetDuration("loss-run", o.loss_run);
  o.slow_lag = flags.GetDuration("slow-lag", o.slow_lag);
  o.slow_run = flags.GetDuration("slow-run", o.slow_run);
  o.slow_fraction = std::strtod(flags.Get("slow-fraction", "0.1").c_str(), nullptr);
  if (!(o.slow_fraction > 0 && o.slow_fraction < 1)) Usage("--slow-fraction must be in (0, 1)");
  o.losses.clear();
  for (const std::string& s : SplitCommas(flags.Get("losses", "0.1,0.3"))) {
    const double loss = std::strtod(s.c_str(), nullptr);
    if (!(loss >= 0 && loss < 1)) Usage("bad loss '" + s + "' (0 <= loss < 1)");
    o.losses.push_back(loss);
  }
  o.udp_only_members_max = flags.GetInt("udp-only-members-max", o.udp_only_members_max);
  o.lifeguard_off_too = flags.Has("lifeguard-off-too");
  o.rerun_base = RerunBase(argc, argv);
  return o;
}

// The harness checks its own steps with doctest; outside a test case a failed check lands here.
void OnHarnessCheck(const doctest::AssertData& data) {
  std::fprintf(stderr, "harness check failed at %s:%d: %s %s\n", data.m_file, data.m_line, data.m_expr,
               data.m_decomp.c_str());
  std::abort();
}

}  // namespace
}  // namespace cairn::gossip::simtest

int main(int argc, char** argv) {
  using namespace cairn::gossip::simtest;
  doctest::Context context;
  context.setAsDefaultForAssertsOutOfTestCases();
  context.setAssertHandler(OnHarnessCheck);
  const SweepOptions options = ParseOptions(argc, argv);
  std::printf("members,seed,metric,value\n");
  bool ok = true;
  for (size_t members : options.sizes) {
    for (uint64_t i = 0; i < options.seeds; ++i) ok = RunOne(options, members, options.first_seed + i) && ok;
  }
  return ok ? 0 : 1;
}
