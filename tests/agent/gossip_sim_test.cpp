// gossip.sim: whole clusters of GossipHosts on the deterministic simulator, over many seeds.
// gossip.sim_large: one 1,000-member cluster.
// Each case prints its measurements (doctest MESSAGE) and, on failure, the seed and the rerun
// command.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tests/agent/gossip_sim_harness.h"
#include "tests/sim/seeds.h"

namespace cairn::gossip::simtest {
namespace {

using namespace std::chrono_literals;

struct Stat {
  double sum = 0, max = 0;
  size_t n = 0;
  void Add(double v) {
    sum += v;
    max = std::max(max, v);
    ++n;
  }
  std::string Text() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "mean %.2f s, max %.2f s", n ? sum / n : 0.0, max);
    return buf;
  }
};

ClusterOptions Lan(size_t members) {
  ClusterOptions o;
  o.members = members;
  return o;
}

// Joins everyone and waits for convergence; on failure reports the seed.
bool JoinAndConverge(Cluster& c, const char* suite, Duration limit, Stat* stat = nullptr) {
  c.JoinAll();
  auto t = c.RunUntilConverged(limit);
  if (!t) {
    FAIL_CHECK("cluster of " << c.Size() << " did not converge within " << Seconds(limit) << " s\n  "
                             << c.Repro(suite));
    return false;
  }
  if (stat) stat->Add(Seconds(*t));
  return true;
}

// Steady-state load: traffic over `window` divided by members and seconds.
std::string MeasureLoad(Cluster& c, Duration window) {
  const auto before = c.TotalTraffic();
  c.RunFor(window);
  const auto after = c.TotalTraffic();
  const double per = static_cast<double>(c.Size()) * Seconds(window);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%.2f packets/s, %.0f UDP bytes/s, %.0f TCP bytes/s per member",
                (after.packets - before.packets) / per, (after.bytes - before.bytes) / per,
                (after.tcp_bytes - before.tcp_bytes) / per);
  return buf;
}

void MassJoin(size_t members, uint64_t seeds, const char* suite) {
  Stat converge;
  std::string load;
  uint64_t false_failures = 0;
  for (uint64_t seed : sim::TestSeeds(seeds)) {
    Cluster c(seed, Lan(members));
    if (!JoinAndConverge(c, suite, 90s, &converge)) return;
    load = MeasureLoad(c, 60s);
    false_failures += c.FalseFailures();
    CHECK_MESSAGE(c.FalseFailures() == 0, c.Repro(suite));
    CHECK_MESSAGE(c.Converged(), c.Repro(suite));
  }
  MESSAGE("mass join of " << members << " members over " << converge.n << " seeds: convergence " << converge.Text()
                          << "; steady load (last seed) " << load << "; false failures " << false_failures);
}

// A crash takes the member's machine away; a kill (`kill_process`) ends only its process, so
// its machine answers pings with port unreachable. Returns the time until all others know.
Stat CrashDetection(size_t members, uint64_t seeds, const char* suite, bool kill_process = false) {
  Stat first_suspect, first_failed, all_know;
  for (uint64_t seed : sim::TestSeeds(seeds)) {
    Cluster c(seed, Lan(members));
    if (!JoinAndConverge(c, suite, 90s)) return all_know;
    c.RunFor(5s);
    const size_t victim = 1 + c.Sim().Random().Below(members - 1);
    const std::string name = c.Name(victim);
    const MonoTime crashed_at = c.Sim().Now();
    if (kill_process) {
      c.Kill(victim);
    } else {
      c.Crash(victim);
    }
    auto t = c.RunUntilConverged(120s);
    if (!t) {
      FAIL_CHECK("crash of " << name << " not known to all within 120 s; " << c.CountSeeing(name, MemberState::kDead)
                             << " of " << members - 1 << " know\n  " << c.Repro(suite));
      return all_know;
    }
    first_suspect.Add(Seconds(*c.FirstEvent(EventKind::kSuspect, name) - crashed_at));
    first_failed.Add(Seconds(*c.FirstEvent(EventKind::kFailed, name) - crashed_at));
    all_know.Add(Seconds(*t));
    CHECK_MESSAGE(c.FalseFailures() == 0, c.Repro(suite));
  }
  MESSAGE(std::string(kill_process ? "killed process" : "crash")
          << " in " << members << " members over " << all_know.n << " seeds: first suspicion " << first_suspect.Text()
          << "; first failed " << first_failed.Text() << "; all know " << all_know.Text());
  return all_know;
}

// Restarts member `i` and waits until the cluster has converged again (every member sees
// every up member alive); the time it took goes into `back`.
void RestartAndConverge(Cluster& c, size_t i, Stat& back) {
  c.Restart(i);
  auto t = c.RunUntilConverged(60s);
  CHECK_MESSAGE(t.has_value(), "restarted member not back\n  " << c.Repro("gossip.sim"));
  if (t) back.Add(Seconds(*t));
}

void Dissemination(size_t members, uint64_t seeds, const char* suite) {
  Stat spread;
  for (uint64_t seed : sim::TestSeeds(seeds)) {
    Cluster c(seed, Lan(members));
    if (!JoinAndConverge(c, suite, 90s)) return;
    c.RunFor(35s);  // let join traffic settle so the update travels alone
    const MonoTime start = c.Sim().Now();
    REQUIRE(c.Host(0).SetMetadata(Metadata{"server", "dc2", "10.0.0.1:8300", "v2", "10.0.0.1:8500"}).IsOk());
    auto everyone = [&] {
      for (size_t i = 0; i < c.Size(); ++i) {
        const Member* m = c.Host(i).Core().Find(c.Name(0));
        if (m == nullptr || m->meta.datacenter != "dc2") return false;
      }
      return true;
    };
    if (!c.Sim().RunUntilTrue(everyone, 60s)) {
      FAIL_CHECK("metadata update did not reach everyone\n  " << c.Repro(suite));
      return;
    }
    spread.Add(Seconds(c.Sim().Now() - start));
  }
  MESSAGE("dissemination of one update to " << members << " members: " << spread.Text() << " over " << spread.n
                                            << " seeds");
}

void LossyRun(size_t members, double loss, Duration run, uint64_t seeds, bool tcp_fallback, uint64_t allowed,
              const char* suite) {
  uint64_t false_failures = 0, suspects = 0;
  std::set<std::string> victims;
  const std::vector<uint64_t> seed_list = sim::TestSeeds(seeds);
  for (uint64_t seed : seed_list) {
    ClusterOptions o = Lan(members);
    o.host.swim.tcp_fallback_probe = tcp_fallback;
    Cluster c(seed, o);
    if (!JoinAndConverge(c, suite, 90s)) return;
    c.Sim().SetDefaultLinkFaults(sim::LinkFaults{loss, 0.0, o.delay_min, o.delay_max});
    c.RunFor(run);
    false_failures += c.FalseFailures();
    suspects += c.SuspectEvents();
    for (const auto& v : c.FalselyFailed()) victims.insert(v);
    CHECK_MESSAGE(c.FalseFailures() <= allowed, "false failures " << c.FalseFailures() << "\n  " << c.Repro(suite));
  }
  MESSAGE(members << " members, " << loss * 100 << "% loss, TCP fallback " << std::string(tcp_fallback ? "on" : "off")
                  << ", " << Seconds(run) << " s x " << seed_list.size() << " seeds: false failure events "
                  << false_failures << " (" << victims.size() << " distinct members), suspicion events " << suspects);
}

void SlowMembers(bool lifeguard, size_t slow_count, Duration lag, uint64_t seeds, uint64_t allowed, const char* suite) {
  uint64_t false_failures = 0, suspects = 0, victims = 0;
  const std::vector<uint64_t> seed_list = sim::TestSeeds(seeds);
  for (uint64_t seed : seed_list) {
    ClusterOptions o = Lan(20);
    o.slow.clear();
    for (size_t i = 0; i < slow_count; ++i) o.slow.insert(1 + 3 * i);
    o.slow_delay_max = lag;
    if (!lifeguard) {
      o.host.swim.awareness_max = 1;
      o.host.swim.suspicion_max_timeout_mult = 1;
    }
    Cluster c(seed, o);
    if (!JoinAndConverge(c, suite, 90s)) return;
    c.RunFor(300s);
    false_failures += c.FalseFailures();
    suspects += c.SuspectEvents();
    victims += c.FalselyFailed().size();
    CHECK_MESSAGE(c.FalseFailures() <= allowed, "false failures " << c.FalseFailures() << "\n  " << c.Repro(suite));
  }
  MESSAGE(slow_count << " of 20 members slowed (timers and receives up to " << Seconds(lag) << " s late), Lifeguard "
                     << std::string(lifeguard ? "on" : "off") << ", 300 s x " << seed_list.size()
                     << " seeds: false failure events " << false_failures << " (" << victims << " member-runs)"
                     << ", suspicion events " << suspects);
}

}  // namespace

TEST_SUITE("gossip.sim") {
  TEST_CASE("mass join converges and load per member stays constant") {
    MassJoin(10, 8, "gossip.sim");
    MassJoin(50, 3, "gossip.sim");
    MassJoin(100, 2, "gossip.sim");
  }

  TEST_CASE("a crashed member is detected and everyone learns it") {
    CrashDetection(10, 6, "gossip.sim");
    CrashDetection(50, 3, "gossip.sim");
    CrashDetection(100, 2, "gossip.sim");
  }

  TEST_CASE("a killed process, whose machine refuses its port, is known failed in under half the time") {
    for (size_t members : {10, 50}) {
      const Stat crash = CrashDetection(members, 4, "gossip.sim");
      const Stat kill = CrashDetection(members, 4, "gossip.sim", /*kill_process=*/true);
      REQUIRE(kill.n == crash.n);
      CHECK(kill.sum < 0.5 * crash.sum);
    }
  }

  TEST_CASE("an update reaches every member in O(log n) gossip rounds") {
    Dissemination(10, 5, "gossip.sim");
    Dissemination(50, 3, "gossip.sim");
    Dissemination(100, 2, "gossip.sim");
  }

  TEST_CASE("no false failures under 10% packet loss; very few under 30%") {
    LossyRun(30, 0.10, 600s, 4, true, 0, "gossip.sim");
    LossyRun(30, 0.30, 300s, 3, true, 3, "gossip.sim");
    LossyRun(30, 0.10, 300s, 2, false, 1000, "gossip.sim");  // reported only: UDP alone
    LossyRun(30, 0.30, 300s, 2, false, 1000, "gossip.sim");  // reported only: UDP alone
  }

  TEST_CASE("slowed members are not declared dead thanks to Lifeguard") {
    const Duration lag = std::getenv("CAIRN_GOSSIP_LAG_MS")
                             ? std::chrono::milliseconds(std::atoi(std::getenv("CAIRN_GOSSIP_LAG_MS")))
                             : Duration(1500ms);
    const size_t slow = std::getenv("CAIRN_GOSSIP_SLOW") ? std::atoi(std::getenv("CAIRN_GOSSIP_SLOW")) : 3;
    SlowMembers(true, slow, lag, 3, 0, "gossip.sim");
    SlowMembers(false, slow, lag, 3, 1000, "gossip.sim");  // reported only: the same run without Lifeguard
  }

  TEST_CASE("a healed partition converges with no live member left failed") {
    Stat heal;
    for (uint64_t seed : sim::TestSeeds(4)) {
      Cluster c(seed, Lan(20));
      if (!JoinAndConverge(c, "gossip.sim", 90s)) return;
      std::vector<size_t> a, b;
      for (size_t i = 0; i < 20; ++i) (i % 2 ? a : b).push_back(i);
      c.Partition(a, b);
      c.RunFor(120s);
      CHECK_MESSAGE(c.CountSeeing(c.Name(1), MemberState::kDead) >= 9,
                    "sides did not fail each other\n  " << c.Repro("gossip.sim"));
      c.Heal();
      auto t = c.RunUntilConverged(180s);
      if (!t) {
        FAIL_CHECK("partition did not heal within 180 s\n  " << c.Repro("gossip.sim"));
        return;
      }
      heal.Add(Seconds(*t));
      for (size_t i = 0; i < 20; ++i)
        CHECK_MESSAGE(c.CountSeeing(c.Name(i), MemberState::kAlive) == 20, c.Repro("gossip.sim"));
    }
    MESSAGE("20 members split 10/10 for 120 s, then healed: everyone alive everywhere after " << heal.Text());
  }

  TEST_CASE("a graceful leave is seen as left by everyone") {
    for (uint64_t seed : sim::TestSeeds(4)) {
      Cluster c(seed, Lan(20));
      if (!JoinAndConverge(c, "gossip.sim", 90s)) return;
      c.Host(5).Leave();
      c.RunFor(3s);
      c.Crash(5);
      c.RunFor(30s);
      CHECK_MESSAGE(c.CountSeeing(c.Name(5), MemberState::kLeft) == 19, c.Repro("gossip.sim"));
      CHECK_MESSAGE(c.Reporters(EventKind::kFailed, c.Name(5)) == 0, c.Repro("gossip.sim"));
    }
  }

  TEST_CASE("a crashed member that restarts with a fresh incarnation is alive again everywhere") {
    Stat back;
    for (uint64_t seed : sim::TestSeeds(4)) {
      Cluster c(seed, Lan(20));
      if (!JoinAndConverge(c, "gossip.sim", 90s)) return;
      c.Crash(7);
      if (!c.RunUntilConverged(60s)) {
        FAIL_CHECK("crash not detected\n  " << c.Repro("gossip.sim"));
        return;
      }
      RestartAndConverge(c, 7, back);
      CHECK_MESSAGE(c.Host(7).Core().Self().incarnation > 0, "the restarted member had to refute its death");
    }
    MESSAGE("restart after being declared failed: alive everywhere after " << back.Text());
  }

  TEST_CASE("a killed process that restarts at once, mid-suspicion, is alive again everywhere") {
    // Its port refused pings for a moment, so some members may hold a short, refused suspicion
    // (or even declare it failed) when it comes back: it must win with a higher incarnation.
    Stat back;
    uint64_t suspicions = 0;
    for (uint64_t seed : sim::TestSeeds(6)) {
      Cluster c(seed, Lan(20));
      if (!JoinAndConverge(c, "gossip.sim", 90s)) return;
      c.Kill(7);
      c.RunFor(std::chrono::milliseconds(1200 + 300 * static_cast<int64_t>(seed % 4)));
      suspicions += c.SuspectEvents();
      RestartAndConverge(c, 7, back);  // converged: every member sees all 20 alive
    }
    CHECK_MESSAGE(suspicions > 0, "no run restarted mid-suspicion");
    MESSAGE("restart 1.2-2.1 s after a kill: alive everywhere after " << back.Text()
                                                                      << "; suspicion events before the "
                                                                         "restarts: "
                                                                      << suspicions);
  }

  TEST_CASE("garbage datagrams and streams are rejected by the host and change nothing") {
    Cluster c(5, Lan(5));
    REQUIRE(JoinAndConverge(c, "gossip.sim", 60s));
    sim::SimEnv& stranger = c.Sim().AddNode("10.9.9.9");
    auto sock = stranger.OpenUdp(NetAddress{"10.9.9.9", 1}, [](const NetAddress&, std::string_view) {});
    REQUIRE(sock.IsOk());
    const NetAddress target{"10.0.0.1", 7946};
    std::string valid = EncodePacket({Suspect{c.Name(0), 100, "evil"}});
    valid[valid.size() - 1] ^= 0x40;
    for (const std::string& junk : {std::string(), std::string("\x01"), std::string(300, '\xff'), valid}) {
      CHECK(sock.Value()->SendTo(target, junk).IsOk());
    }
    bool replied = false;
    std::unique_ptr<TcpStream> client;
    stranger.ConnectTcp(target, [&](Result<std::unique_ptr<TcpStream>> r) {
      REQUIRE(r.IsOk());
      client = std::move(r.Value());
      client->Start({[&](std::string_view) { replied = true; }, [](Status) {}});
      // A frame header whose checksum cannot match: the host drops the stream.
      CHECK(client->Write(std::string("\x04\x00\x00\x00\x00junk", 9)).IsOk());
    });
    c.RunFor(2s);
    CHECK(c.Host(0).Core().Stats().packets_rejected == 4);
    CHECK(c.Host(0).Core().Self().incarnation == 0);
    CHECK(c.Host(0).Core().AliveCount() == 5);
    CHECK_FALSE(replied);
  }

  TEST_CASE("a seed replays exactly") {
    auto run = [](uint64_t seed) {
      Cluster c(seed, Lan(10));
      c.JoinAll();
      c.RunFor(30s);
      c.Crash(4);
      c.RunFor(30s);
      return c.Sim().TraceHash();
    };
    CHECK(run(77) == run(77));
  }
}

TEST_SUITE("gossip.sim_large") {
  TEST_CASE("1,000 members: join, crash detection, dissemination and load") {
    const auto wall = std::chrono::steady_clock::now();
    for (uint64_t seed : sim::TestSeeds(1)) {
      Cluster c(seed, Lan(1000));
      Stat converge;
      if (!JoinAndConverge(c, "gossip.sim_large", 180s, &converge)) return;
      c.RunFor(60s);  // let the join's updates drain so the load measured is the steady one
      const std::string load = MeasureLoad(c, 30s);
      const MonoTime crashed_at = c.Sim().Now();
      c.Crash(500);
      auto t = c.RunUntilConverged(180s);
      CHECK_MESSAGE(t.has_value(), c.Repro("gossip.sim_large"));
      CHECK_MESSAGE(c.FalseFailures() == 0, c.Repro("gossip.sim_large"));
      const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall).count();
      MESSAGE("1000 members: convergence "
              << converge.Text() << "; steady load " << load << "; crash: first suspicion "
              << Seconds(c.FirstEvent(EventKind::kSuspect, c.Name(500)).value_or(crashed_at) - crashed_at)
              << " s, first failed "
              << Seconds(c.FirstEvent(EventKind::kFailed, c.Name(500)).value_or(crashed_at) - crashed_at)
              << " s, all know " << (t ? Seconds(*t) : -1.0) << " s; false failures " << c.FalseFailures() << "; wall "
              << wall_s << " s");
    }
  }
}

}  // namespace cairn::gossip::simtest
