#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/seeds.h"
#include "tests/sim/simulator.h"

namespace cairn::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr uint16_t kUdpPort = 7000;
constexpr uint16_t kTcpPort = 7001;
constexpr const char* kLogDir = "/data";
constexpr const char* kLogPath = "/data/log";

// What one run did, to prove the workload is not trivial and to compare reruns.
struct Outcome {
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  uint64_t datagrams = 0;
  uint64_t tcp_bytes = 0;
  uint64_t tcp_resets = 0;
  uint64_t connect_failures = 0;
  uint64_t log_bytes_after_restart = 0;
  uint64_t log_bytes_at_end = 0;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// A small component that uses every part of the Env the way real code does: a periodic timer,
// UDP pings and pongs, TCP streams it opens and accepts, a log file it appends to and syncs, and
// posts. It is rebuilt from scratch after its host restarts.
class Member {
 public:
  Member(SimEnv& env, std::vector<std::string> peers, Outcome& outcome)
      : env_(env), prng_(env.RandomSeed()), peers_(std::move(peers)), outcome_(outcome) {
    auto udp = env_.OpenUdp(NetAddress{env_.Host(), kUdpPort},
                            [this](const NetAddress& from, std::string_view data) { OnDatagram(from, data); });
    REQUIRE(udp.IsOk());
    udp_ = std::move(udp).Value();
    auto listener = env_.ListenTcp(NetAddress{"0.0.0.0", kTcpPort},
                                   [this](std::unique_ptr<TcpStream> stream) { Adopt(std::move(stream)); });
    REQUIRE(listener.IsOk());
    listener_ = std::move(listener).Value();
    REQUIRE(env_.CreateDir(kLogDir).IsOk());
    if (auto existing = env_.ReadFile(kLogPath); existing.IsOk()) {
      outcome_.log_bytes_after_restart += existing->size();
    }
    auto log = env_.NewAppendableFile(kLogPath);
    REQUIRE(log.IsOk());
    log_ = std::move(log).Value();
    REQUIRE(env_.SyncDir(kLogDir).IsOk());
    ScheduleTick();
  }
  ~Member() { (void)env_.CancelTimer(timer_); }

 private:
  void ScheduleTick() {
    timer_ = env_.StartTimer(microseconds(prng_.Between(2000, 8000)), [this] { Tick(); });
  }

  const std::string& RandomPeer() { return peers_[prng_.Below(peers_.size())]; }

  void Tick() {
    ++ticks_;
    (void)udp_->SendTo(NetAddress{RandomPeer(), kUdpPort}, "ping " + env_.Host() + " " + std::to_string(ticks_));
    if (outgoing_ == 0 && !connecting_ && prng_.Chance(0.3)) Connect();
    if (outgoing_ != 0) {
      const std::string message = "msg " + std::to_string(ticks_) + " from " + env_.Host() + "\n";
      (void)streams_.at(outgoing_)->Write(message);
      if (prng_.Chance(0.1)) Drop(outgoing_);
    }
    if (prng_.Chance(0.3)) REQUIRE(log_->Sync().IsOk());
    if (prng_.Chance(0.2)) REQUIRE(env_.Post([this] { (void)log_->Append("posted\n"); }).IsOk());
    ScheduleTick();
  }

  void Connect() {
    connecting_ = true;
    env_.ConnectTcp(NetAddress{RandomPeer(), kTcpPort}, [this](Result<std::unique_ptr<TcpStream>> stream) {
      connecting_ = false;
      if (!stream.IsOk()) {
        ++outcome_.connect_failures;
        return;
      }
      outgoing_ = Adopt(std::move(stream).Value());
    });
  }

  uint64_t Adopt(std::unique_ptr<TcpStream> stream) {
    const uint64_t id = next_stream_id_++;
    TcpStream& raw = *stream;
    streams_.emplace(id, std::move(stream));
    raw.Start(TcpStreamHandlers{[this](std::string_view data) {
                                  outcome_.tcp_bytes += data.size();
                                  REQUIRE(log_->Append(data).IsOk());
                                },
                                [this, id](Status reason) {
                                  if (!reason.IsOk()) ++outcome_.tcp_resets;
                                  Drop(id);  // destroys the stream from inside its own callback
                                }});
    return id;
  }

  void Drop(uint64_t id) {
    if (id == outgoing_) outgoing_ = 0;
    streams_.erase(id);
  }

  void OnDatagram(const NetAddress& from, std::string_view data) {
    ++outcome_.datagrams;
    if (data.starts_with("ping") && prng_.Chance(0.5)) {
      (void)udp_->SendTo(NetAddress{from.host, kUdpPort}, "pong " + env_.Host());
    }
  }

  SimEnv& env_;
  Prng prng_;
  std::vector<std::string> peers_;
  Outcome& outcome_;
  std::unique_ptr<UdpSocket> udp_;
  std::unique_ptr<TcpListener> listener_;
  std::unique_ptr<WritableFile> log_;
  std::map<uint64_t, std::unique_ptr<TcpStream>> streams_;
  uint64_t next_stream_id_ = 1;
  uint64_t outgoing_ = 0;
  bool connecting_ = false;
  uint64_t ticks_ = 0;
  TimerId timer_ = 0;
};

// Four hosts under lossy, duplicating, jittery links; one crashes and restarts, and a partition
// comes and goes, at times drawn from the seed.
Outcome RunWorkload(uint64_t seed) {
  Outcome outcome;
  Simulator sim(seed);
  sim.SetDefaultLinkFaults(LinkFaults{0.1, 0.05, microseconds(100), milliseconds(3)});
  sim.SetDiskFaults(DiskFaults{0.5});
  const std::vector<std::string> hosts{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"};
  std::vector<std::unique_ptr<Member>> members;
  for (const std::string& host : hosts) sim.AddNode(host);
  for (const std::string& host : hosts) members.push_back(std::make_unique<Member>(sim.Node(host), hosts, outcome));

  Prng& random = sim.Random();
  sim.RunFor(milliseconds(random.Between(40, 120)));
  const size_t victim = random.Below(hosts.size());
  sim.Crash(hosts[victim]);
  sim.RunFor(milliseconds(random.Between(10, 60)));
  const size_t isolated = random.Below(hosts.size());
  std::vector<std::string> rest;
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (i != isolated) rest.push_back(hosts[i]);
  }
  sim.Partition({hosts[isolated]}, rest);
  sim.RunFor(milliseconds(random.Between(10, 60)));
  sim.HealAll();
  sim.Restart(hosts[victim]);
  members[victim] = std::make_unique<Member>(sim.Node(hosts[victim]), hosts, outcome);
  sim.RunFor(milliseconds(random.Between(150, 250)));

  for (const std::string& host : hosts) {
    auto log = sim.Node(host).ReadFile(kLogPath);
    REQUIRE(log.IsOk());
    outcome.log_bytes_at_end += log->size();
  }
  outcome.events = sim.EventsRun();
  outcome.trace_hash = sim.TraceHash();
  members.clear();
  return outcome;
}

TEST_SUITE("sim.determinism") {
  TEST_CASE("every seed replays bit for bit, and different seeds behave differently") {
    const std::vector<uint64_t> seeds = TestSeeds(1000);
    std::set<uint64_t> hashes;
    std::set<uint64_t> event_counts;
    Outcome totals;
    for (uint64_t seed : seeds) {
      // Evaluated only when an assertion fails.
      INFO(Simulator(seed).ReproHint(kSimTestBinary,
                                     "every seed replays bit for bit, and different seeds behave differently"));
      const Outcome first = RunWorkload(seed);
      const Outcome second = RunWorkload(seed);
      REQUIRE(first.trace_hash == second.trace_hash);
      REQUIRE(first == second);
      hashes.insert(first.trace_hash);
      event_counts.insert(first.events);
      totals.events += first.events;
      totals.datagrams += first.datagrams;
      totals.tcp_bytes += first.tcp_bytes;
      totals.tcp_resets += first.tcp_resets;
      totals.connect_failures += first.connect_failures;
      totals.log_bytes_after_restart += first.log_bytes_after_restart;
      CHECK(first.datagrams > 0);
      CHECK(first.tcp_bytes > 0);
      CHECK(first.log_bytes_at_end > 0);
    }
    MESSAGE("seeds=" << seeds.size() << " events=" << totals.events << " datagrams=" << totals.datagrams
                     << " tcp_bytes=" << totals.tcp_bytes << " resets=" << totals.tcp_resets << " connect_failures="
                     << totals.connect_failures << " log_bytes_after_restart=" << totals.log_bytes_after_restart);
    CHECK(hashes.size() == seeds.size());
    if (seeds.size() >= 100) {
      // Seeds must change behaviour, not just the hash's starting point.
      CHECK(event_counts.size() > seeds.size() / 4);
      CHECK(totals.tcp_resets > 0);
      CHECK(totals.connect_failures > 0);
      CHECK(totals.log_bytes_after_restart > 0);
    }
  }

  TEST_CASE("the trace hash sees a single changed payload byte") {
    auto run = [](char byte) {
      Simulator sim(42);
      SimEnv& a = sim.AddNode("10.0.0.1");
      SimEnv& b = sim.AddNode("10.0.0.2");
      auto receiver = b.OpenUdp(NetAddress{"10.0.0.2", 9}, [](const NetAddress&, std::string_view) {});
      auto sender = a.OpenUdp(NetAddress{"10.0.0.1", 0}, [](const NetAddress&, std::string_view) {});
      REQUIRE(receiver.IsOk());
      REQUIRE(sender.IsOk());
      REQUIRE((*sender)->SendTo(NetAddress{"10.0.0.2", 9}, std::string("payload") + byte).IsOk());
      sim.RunFor(milliseconds(1));
      CHECK(sim.EventsRun() == 1);
      return sim.TraceHash();
    };
    CHECK(run('x') == run('x'));
    CHECK(run('x') != run('y'));
  }

  TEST_CASE("ReproHint names the seed and the rerun command") {
    Simulator sim(123);
    CHECK(sim.ReproHint("build/tests/sim/cairn_test_sim", "my case") ==
          "seed=123; rerun: CAIRN_SEED=123 build/tests/sim/cairn_test_sim --test-case='my case'");
  }
}

}  // namespace
}  // namespace cairn::sim
