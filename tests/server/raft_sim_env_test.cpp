// raft.sim_env: the Raft core hosted on the deterministic Simulator (tests/sim/simulator.h).
//
// Each server is a SimEnv: Raft messages travel as UDP datagrams (so the simulator's drops,
// delays, reordering, duplicates and partitions apply), Tick is driven by a SimEnv timer, and a
// Ready's durable part is written after a simulated disk latency (a timer; Simulator::Crash
// cancels it, which loses the unsynced write). The Raft disk itself is modelled by a
// MemoryStorage per server that survives crashes. The checks: one leader per term, one value
// per applied index (snapshots included), acknowledged proposals survive, and after healing
// every server converges. The whole-cluster checker with more invariants and fault kinds is
// raft.sim (raft_sim_harness.h), which runs its own faster scheduler.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/codec.h"
#include "server/raft/memory_storage.h"
#include "server/raft/message_codec.h"
#include "server/raft/raft.h"
#include "tests/sim/seeds.h"
#include "tests/sim/simulator.h"

namespace cairn::raft {
namespace {

using std::chrono::milliseconds;
constexpr uint16_t kRaftPort = 7000;
constexpr milliseconds kTickInterval{10};

std::string HostOf(uint64_t id) { return "10.0.0." + std::to_string(id); }

struct EnvServer {
  uint64_t id = 0;
  sim::SimEnv* env = nullptr;
  MemoryStorage disk;  // what survives a crash
  std::unique_ptr<Raft> raft;
  std::unique_ptr<UdpSocket> socket;
  std::optional<Ready> writing;  // a Ready whose disk write has not completed
  Index applied;
  std::vector<std::pair<LogPosition, std::string>> proposals;  // this incarnation's
};

class EnvCluster {
 public:
  EnvCluster(uint64_t seed, int voters) : sim_(seed), voters_(voters) {
    sim_.SetDefaultLinkFaults(sim::LinkFaults{0.05, 0.02, milliseconds(1), milliseconds(25)});
    for (int i = 1; i <= voters; ++i) {
      auto s = std::make_unique<EnvServer>();
      s->id = static_cast<uint64_t>(i);
      s->env = &sim_.AddNode(HostOf(s->id));
      Snapshot boot;
      for (int v = 1; v <= voters; ++v) boot.meta.configuration.voters.push_back(NodeId(static_cast<uint64_t>(v)));
      boot.meta.index = Index(1);
      boot.meta.term = Term(1);
      REQUIRE(s->disk.ApplySnapshot(boot).IsOk());
      servers_[s->id] = std::move(s);
    }
    history_.push_back(Entry{Term(1), Index(1), EntryType::kNormal, {}});
    for (auto& [id, s] : servers_) Start(*s);
  }

  // Chaos, then heal; returns the first violation or an empty string.
  std::string Run(int chaos_rounds) {
    Prng& rnd = sim_.Random();
    for (int round = 0; round < chaos_rounds && violation_.empty(); ++round) {
      sim_.RunFor(milliseconds(50));
      if (rnd.Chance(0.6)) Propose("c" + std::to_string(round));
      const uint64_t victim = 1 + rnd.Below(static_cast<uint64_t>(voters_));
      if (rnd.Chance(0.02) && servers_[victim]->raft) Crash(*servers_[victim]);
      if (rnd.Chance(0.1) && !servers_[victim]->raft) {
        sim_.Restart(HostOf(victim));
        Start(*servers_[victim]);
      }
      if (rnd.Chance(0.03)) {
        std::vector<std::string> a{HostOf(victim)};
        std::vector<std::string> b;
        for (auto& [id, s] : servers_) {
          if (id != victim) (rnd.Chance(0.3) ? a : b).push_back(HostOf(id));
        }
        sim_.Partition(a, b);
      }
      if (rnd.Chance(0.05)) sim_.HealAll();
    }
    if (!violation_.empty()) return violation_;
    sim_.HealAll();
    sim_.SetDefaultLinkFaults(sim::LinkFaults{});
    for (auto& [id, s] : servers_) {
      if (!s->raft) {
        sim_.Restart(HostOf(id));
        Start(*s);
      }
    }
    const bool done = sim_.RunUntilTrue([this] { return Converged(); }, std::chrono::seconds(30));
    if (violation_.empty() && !done) violation_ = "no convergence within 30 s of virtual time after healing";
    return violation_;
  }

  uint64_t Acked() const { return acked_; }

 private:
  void Start(EnvServer& s) {
    RaftConfig cfg;
    cfg.id = NodeId(s.id);
    cfg.seed = s.env->RandomSeed();
    cfg.append_bytes_max = 4096;
    Result<std::unique_ptr<Raft>> raft = Raft::Create(cfg, s.disk);
    REQUIRE_MESSAGE(raft.IsOk(), raft.GetStatus().ToString());
    s.raft = std::move(raft).Value();
    s.writing.reset();
    s.proposals.clear();
    s.applied = s.disk.GetSnapshot()->meta.index;
    Result<std::unique_ptr<UdpSocket>> sock =
        s.env->OpenUdp(NetAddress{HostOf(s.id), kRaftPort}, [this, &s](const NetAddress&, std::string_view bytes) {
          Result<Message> m = DecodeMessage(bytes);
          if (!m.IsOk()) {
            violation_ = "undecodable datagram: " + m.GetStatus().ToString();
            return;
          }
          (void)s.raft->Step(*m);
          Pump(s);
        });
    REQUIRE_MESSAGE(sock.IsOk(), sock.GetStatus().ToString());
    s.socket = std::move(sock).Value();
    ArmTick(s);
  }

  void ArmTick(EnvServer& s) {
    s.env->StartTimer(kTickInterval, [this, &s] {
      s.raft->Tick();
      Pump(s);
      ArmTick(s);
    });
  }

  void Crash(EnvServer& s) {
    sim_.Crash(HostOf(s.id));  // cancels the tick and any unfinished disk write
    s.socket.reset();
    s.raft.reset();
    s.writing.reset();
  }

  void Send(EnvServer& s, const std::vector<Message>& msgs) {
    for (const Message& m : msgs) (void)s.socket->SendTo(NetAddress{HostOf(m.to.value), kRaftPort}, EncodeMessage(m));
  }

  // Starts the next Ready's disk write if none is in flight.
  void Pump(EnvServer& s) {
    CheckLeader(s);
    if (s.writing || !s.raft->HasReady()) return;
    s.writing = s.raft->GetReady();
    Send(s, s.writing->early_messages);
    const auto latency = std::chrono::microseconds(100 + sim_.Random().Below(3000));
    s.env->StartTimer(latency, [this, &s] { FinishWrite(s); });
  }

  void FinishWrite(EnvServer& s) {
    Ready rd = std::move(*s.writing);
    s.writing.reset();
    REQUIRE(PersistReady(s.disk, rd.snapshot, rd.entries, rd.hard_state).IsOk());
    Send(s, rd.messages);
    if (rd.snapshot) s.applied = rd.snapshot->meta.index;
    for (const Entry& e : rd.committed_entries) Apply(s, e);
    s.raft->Advance();
    if (s.applied.value >= s.disk.GetSnapshot()->meta.index.value + 20) {
      (void)s.disk.CreateSnapshot(s.applied, s.raft->GetConfiguration(), "image");
      (void)s.disk.Compact(Index(s.applied.value - 5));
    }
    Pump(s);
  }

  void Apply(EnvServer& s, const Entry& e) {
    if (e.index != s.applied.Next()) violation_ = "server " + std::to_string(s.id) + " applied out of order";
    s.applied = e.index;
    if (e.index.value <= history_.size()) {
      if (!(history_[e.index.value - 1] == e)) {
        violation_ = "state machine safety: two values applied at index " + std::to_string(e.index.value);
      }
    } else {
      history_.push_back(e);
    }
    for (const auto& [pos, data] : s.proposals) {
      if (pos.index == e.index && pos.term == e.term) ++acked_;
    }
  }

  void CheckLeader(EnvServer& s) {
    if (s.raft->GetRole() != Role::kLeader) return;
    auto [it, inserted] = leaders_.emplace(s.raft->CurrentTerm().value, s.id);
    if (!inserted && it->second != s.id) violation_ = "two leaders in term " + std::to_string(it->first);
  }

  void Propose(const std::string& data) {
    for (auto& [id, s] : servers_) {
      if (!s->raft || s->raft->GetRole() != Role::kLeader) continue;
      Result<LogPosition> pos = s->raft->Propose(data);
      if (pos.IsOk()) s->proposals.emplace_back(*pos, data);
      Pump(*s);
      return;
    }
  }

  bool Converged() {
    if (!violation_.empty()) return true;
    Index commit;
    for (auto& [id, s] : servers_) {
      if (s->raft->GetRole() == Role::kLeader &&
          s->raft->Log().TermOrZero(s->raft->Log().Committed()) == s->raft->CurrentTerm()) {
        commit = s->raft->Log().Committed();
      }
    }
    if (commit.value < history_.size()) return false;
    for (auto& [id, s] : servers_) {
      if (s->applied < commit) return false;
    }
    return true;
  }

  sim::Simulator sim_;
  int voters_;
  std::map<uint64_t, std::unique_ptr<EnvServer>> servers_;
  std::vector<Entry> history_;  // history_[i-1]: the entry applied at index i
  std::map<uint64_t, uint64_t> leaders_;
  uint64_t acked_ = 0;
  std::string violation_;
};

}  // namespace

TEST_SUITE("raft.sim_env") {
  TEST_CASE("Raft over the simulator's UDP network, timers and crashes") {
    uint64_t acked = 0;
    const std::vector<uint64_t> seeds = sim::TestSeeds(500);
    for (uint64_t seed : seeds) {
      const int voters = seed % 2 == 0 ? 3 : 5;
      EnvCluster cluster(seed, voters);
      const std::string violation = cluster.Run(200);
      if (!violation.empty()) {
        FAIL_CHECK("seed " << seed << " (" << voters << " voters): " << violation << "\n  replay: CAIRN_SEED=" << seed
                           << " ./tests/server/cairn_test_raft --test-suite=raft.sim_env");
        return;
      }
      acked += cluster.Acked();
    }
    MESSAGE("raft.sim_env: " << seeds.size() << " seeds, acknowledged proposals " << acked);
    CHECK(acked > 0);
  }
}

}  // namespace cairn::raft
