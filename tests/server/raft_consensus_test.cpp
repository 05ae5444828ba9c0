// The Consensus interface driven through its Raft adapter, as the server will drive it:
// opaque message bytes, neutral records, the host loop of server/consensus.h.
#include "server/raft_consensus.h"

#include <doctest/doctest.h>

#include <map>
#include <memory>

#include "server/raft/memory_storage.h"

namespace cairn::consensus {
namespace {

struct Host {
  raft::MemoryStorage storage;
  std::unique_ptr<Consensus> engine;
  std::vector<LogRecord> applied;
  std::vector<ReadPoint> reads;
};

class Group {
 public:
  explicit Group(int n) {
    for (int i = 1; i <= n; ++i) {
      auto h = std::make_unique<Host>();
      raft::Snapshot snap;
      for (int v = 1; v <= n; ++v) snap.meta.configuration.voters.push_back(raft::NodeId(static_cast<uint64_t>(v)));
      snap.meta.index = raft::Index(1);
      snap.meta.term = raft::Term(1);
      REQUIRE(h->storage.ApplySnapshot(snap).IsOk());
      raft::RaftConfig cfg;
      cfg.id = raft::NodeId(static_cast<uint64_t>(i));
      cfg.seed = static_cast<uint64_t>(i);
      auto engine = RaftConsensus::Create(cfg, h->storage);
      REQUIRE(engine.IsOk());
      h->engine = std::move(engine).Value();
      hosts_[static_cast<ReplicaId>(i)] = std::move(h);
    }
  }
  Host& At(ReplicaId id) { return *hosts_.at(id); }
  void AddHost(ReplicaId id) {
    auto h = std::make_unique<Host>();
    raft::RaftConfig cfg;
    cfg.id = raft::NodeId(id);
    auto engine = RaftConsensus::Create(cfg, h->storage);
    REQUIRE(engine.IsOk());
    h->engine = std::move(engine).Value();
    hosts_[id] = std::move(h);
  }
  // Runs host loops and delivers bytes until nothing moves.
  void Settle() {
    for (int round = 0; round < 200; ++round) {
      std::vector<Envelope> wire;
      for (auto& [id, h] : hosts_) {
        while (h->engine->HasReady()) {
          ConsensusReady rd = h->engine->GetReady();
          for (auto& e : rd.early_messages) wire.push_back(std::move(e));
          REQUIRE(h->engine->Persist(rd.durable).IsOk());
          for (auto& e : rd.messages) wire.push_back(std::move(e));
          for (auto& r : rd.committed) h->applied.push_back(r);
          for (auto& r : rd.reads) h->reads.push_back(r);
          h->engine->Advance();
        }
      }
      if (wire.empty()) return;
      for (const Envelope& e : wire) {
        auto it = hosts_.find(e.to);
        if (it != hosts_.end()) REQUIRE(it->second->engine->Step(e.bytes).IsOk());
      }
    }
    FAIL("group did not settle");
  }
  void TickAll(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, h] : hosts_) h->engine->Tick();
      Settle();
    }
  }
  ReplicaId LeaderId() {
    for (auto& [id, h] : hosts_) {
      if (h->engine->IsLeader()) return id;
    }
    return kNoReplica;
  }

 private:
  std::map<ReplicaId, std::unique_ptr<Host>> hosts_;
};

}  // namespace

TEST_SUITE("raft.core") {
  TEST_CASE("consensus adapter: elect, replicate, read, change membership, compact") {
    Group g(3);
    g.TickAll(30);
    const ReplicaId leader = g.LeaderId();
    REQUIRE(leader != kNoReplica);
    Consensus& l = *g.At(leader).engine;
    Result<ProposalId> p = l.Propose("set a=1");
    REQUIRE(p.IsOk());
    g.Settle();
    for (ReplicaId id : {1, 2, 3}) {
      const auto& applied = g.At(id).applied;
      REQUIRE(!applied.empty());
      CHECK(applied.back().data == "set a=1");
      CHECK(applied.back().index == p->index);
      CHECK(applied.back().epoch == p->epoch);
      CHECK(applied.front().kind == CommandKind::kNoop);
    }
    const ReplicaId follower = leader == 1 ? 2 : 1;
    CHECK(g.At(follower).engine->Propose("x").GetStatus().Code() == StatusCode::kUnavailable);
    CHECK(g.At(follower).engine->Step("garbage").Code() == StatusCode::kCorruption);
    REQUIRE(g.At(follower).engine->ReadIndex("q1").IsOk());
    g.Settle();
    REQUIRE(g.At(follower).reads.size() == 1);
    CHECK(g.At(follower).reads[0].index >= p->index);

    g.AddHost(4);
    REQUIRE(l.ProposeMembershipChange({MembershipChange::Type::kAddLearner, 4}).IsOk());
    g.TickAll(3);
    REQUIRE(l.ProposeMembershipChange({MembershipChange::Type::kPromote, 4}).IsOk());
    g.TickAll(3);
    CHECK(l.CurrentMembership().voters == std::vector<ReplicaId>{1, 2, 3, 4});
    CHECK(g.At(4).applied.back().kind == CommandKind::kMembership);
    Result<MembershipChange> change = DecodeMembershipChange(g.At(4).applied.back().data);
    REQUIRE(change.IsOk());
    CHECK(change->replica == 4);

    const LogRecord last = g.At(leader).applied.back();
    SnapshotImage image{last.index, last.epoch, l.CurrentMembership(), "image"};
    REQUIRE(l.CompactTo(image, 1).IsOk());
    REQUIRE(l.Propose("after compaction").IsOk());
    g.Settle();
    CHECK(g.At(4).applied.back().data == "after compaction");
  }

  TEST_CASE("consensus adapter: hard state blob round-trips") {
    const raft::HardState hs{raft::Term(7), raft::NodeId(3), raft::Index(99)};
    Result<raft::HardState> back = RaftConsensus::DecodeHardState(RaftConsensus::EncodeHardState(hs));
    REQUIRE(back.IsOk());
    CHECK(*back == hs);
    CHECK_FALSE(RaftConsensus::DecodeHardState("\xff").IsOk());
  }
}

}  // namespace cairn::consensus
