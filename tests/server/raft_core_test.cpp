// raft.core: focused unit tests of the Raft core's pieces and of its Ready contract.
#include <doctest/doctest.h>

#include <memory>

#include "server/raft/memory_storage.h"
#include "server/raft/message_codec.h"
#include "server/raft/progress.h"
#include "server/raft/quorum.h"
#include "server/raft/raft.h"
#include "server/raft/raft_log.h"

namespace cairn::raft {
namespace {

Entry E(uint64_t index, uint64_t term, std::string data = {}) {
  return Entry{Term(term), Index(index), EntryType::kNormal, std::move(data)};
}

// A founding member's disk: a snapshot at index 1 holding the initial voters.
void Bootstrap(MemoryStorage& storage, std::vector<NodeId> voters) {
  Snapshot snap;
  snap.meta = SnapshotMeta{Index(1), Term(1), Configuration{std::move(voters), {}}};
  REQUIRE(storage.ApplySnapshot(snap).IsOk());
  REQUIRE(storage.SetHardState(HardState{Term(1), kNoNode, Index(1)}).IsOk());
}

std::unique_ptr<Raft> MakeRaft(uint64_t id, const MemoryStorage& storage, RaftConfig cfg = {}) {
  cfg.id = NodeId(id);
  cfg.seed = id;
  Result<std::unique_ptr<Raft>> r = Raft::Create(cfg, storage);
  REQUIRE_MESSAGE(r.IsOk(), r.GetStatus().ToString());
  return std::move(r).Value();
}

// Persists a Ready the way a host must, then advances.
Ready Persist(Raft& raft, MemoryStorage& storage) {
  Ready rd = raft.GetReady();
  if (rd.snapshot) REQUIRE(storage.ApplySnapshot(*rd.snapshot).IsOk());
  REQUIRE(storage.Append(rd.entries).IsOk());
  if (rd.hard_state) REQUIRE(storage.SetHardState(*rd.hard_state).IsOk());
  raft.Advance();
  return rd;
}

}  // namespace

TEST_SUITE("raft.core") {
  TEST_CASE("message codec round-trips every field and rejects damage") {
    Message m;
    m.type = MessageType::kSnapshot;
    m.from = NodeId(3);
    m.to = NodeId(7);
    m.term = Term(9);
    m.log_term = Term(8);
    m.index = Index(100);
    m.commit = Index(90);
    m.reject = true;
    m.reject_hint = Index(42);
    m.hint_term = Term(5);
    m.transfer = true;
    m.round = 77;
    m.context = "ctx";
    m.entries = {E(101, 9, "a"), Entry{Term(9), Index(102), EntryType::kConfigChange,
                                       EncodeConfigChange({ConfigChangeType::kPromote, NodeId(4), {}})}};
    m.snapshot.meta = SnapshotMeta{Index(99), Term(8), Configuration{{NodeId(1), NodeId(2)}, {NodeId(4)}}};
    m.snapshot.data = std::string(1000, 'x');
    const std::string bytes = EncodeMessage(m);
    Result<Message> back = DecodeMessage(bytes);
    REQUIRE(back.IsOk());
    CHECK(*back == m);
    for (size_t cut = 0; cut < bytes.size(); cut += 7) CHECK_FALSE(DecodeMessage(bytes.substr(0, cut)).IsOk());
    std::string bad = bytes;
    bad[1] = 99;  // unknown type
    CHECK(DecodeMessage(bad).GetStatus().Code() == StatusCode::kCorruption);
    CHECK_FALSE(DecodeMessage(bytes + "z").IsOk());
    Result<ConfigChange> cc = DecodeConfigChange(EncodeConfigChange({ConfigChangeType::kRemove, NodeId(12), {}}));
    REQUIRE(cc.IsOk());
    CHECK(cc->node == NodeId(12));
    // A change without a context encodes as it always did; one with a context round-trips.
    CHECK(EncodeConfigChange({ConfigChangeType::kRemove, NodeId(12), {}}).size() == 2);
    const ConfigChange with{ConfigChangeType::kAddLearner, NodeId(4), "10.0.0.4:8300"};
    CHECK(DecodeConfigChange(EncodeConfigChange(with)).Value() == with);
    const std::string encoded = EncodeConfigChange(with);
    CHECK_FALSE(DecodeConfigChange(encoded.substr(0, encoded.size() - 1)).IsOk());
  }

  TEST_CASE("quorum arithmetic") {
    const std::vector<NodeId> voters{NodeId(1), NodeId(2), NodeId(3), NodeId(4), NodeId(5)};
    const Index idx = QuorumIndex<Index>(voters, [](NodeId v) { return Index(v.value * 10); });
    CHECK(idx == Index(30));
    CHECK(TallyVotes(voters, [](NodeId v) { return v.value <= 3 ? 1 : 0; }) == VoteResult::kWon);
    CHECK(TallyVotes(voters, [](NodeId v) { return v.value <= 3 ? -1 : 1; }) == VoteResult::kLost);
    CHECK(TallyVotes(voters, [](NodeId v) { return v.value <= 2 ? 1 : 0; }) == VoteResult::kPending);
  }

  TEST_CASE("raft log: conflicting suffix replaced, commit and term hints") {
    MemoryStorage storage;
    REQUIRE(storage.Append({E(1, 1), E(2, 1), E(3, 2)}).IsOk());
    RaftLog log(storage);
    CHECK(log.LastIndex() == Index(3));
    // Entries 3.. conflict (term 3 vs 2): the suffix is replaced in memory.
    auto last = log.MaybeAppend(Index(2), Term(1), Index(3), {E(3, 3, "x"), E(4, 3, "y")});
    REQUIRE(last.has_value());
    CHECK(*last == Index(4));
    CHECK(log.Committed() == Index(3));
    CHECK(log.TermOrZero(Index(3)) == Term(3));
    CHECK(log.UnstableEntries().size() == 2);
    CHECK_FALSE(log.MaybeAppend(Index(4), Term(2), Index(4), {}).has_value());
    CHECK(log.FindConflictByTerm(Index(4), Term(2)) == Index(2));
    CHECK(log.IsUpToDate(Index(4), Term(3)));
    CHECK_FALSE(log.IsUpToDate(Index(9), Term(2)));
    log.StableTo(Index(4), Term(3));
    CHECK(log.UnstableEntries().empty());
  }

  TEST_CASE("progress: pipelining stops at the in-flight window and falls back to probing") {
    Progress pr(Index(1), 2, 0, false);
    CHECK_FALSE(pr.IsPaused());
    pr.SentEntries(Index(1), 10);
    CHECK(pr.IsPaused());  // probe: one at a time
    CHECK(pr.MaybeUpdate(Index(1)));
    pr.BecomeReplicate();
    pr.SentEntries(Index(3), 10);
    pr.SentEntries(Index(5), 10);
    CHECK(pr.IsPaused());  // two messages in flight
    pr.MaybeUpdate(Index(3));
    CHECK_FALSE(pr.IsPaused());
    CHECK(pr.MaybeDecreaseTo(Index(5), Index(3)));  // the append after 5 was rejected
    CHECK(pr.Next() == Index(4));
    CHECK_FALSE(pr.MaybeDecreaseTo(Index(2), Index(1)));  // stale rejection
  }

  TEST_CASE("a single voter elects itself but commits only after its own write is durable") {
    MemoryStorage storage;
    Bootstrap(storage, {NodeId(1)});
    auto raft = MakeRaft(1, storage);
    REQUIRE(raft->Campaign().IsOk());
    CHECK(raft->GetRole() == Role::kLeader);
    Ready rd = raft->GetReady();
    REQUIRE(rd.entries.size() == 1);      // the no-op
    CHECK(rd.committed_entries.empty());  // not durable yet, so not committed
    CHECK(raft->Log().Committed() == Index(1));
    REQUIRE(storage.Append(rd.entries).IsOk());
    REQUIRE(storage.SetHardState(*rd.hard_state).IsOk());
    raft->Advance();
    CHECK(raft->Log().Committed() == Index(2));
    Result<LogPosition> pos = raft->Propose("x");
    REQUIRE(pos.IsOk());
    CHECK(pos->index == Index(3));
    Persist(*raft, storage);  // hands out the no-op to apply, persists "x", which then commits
    Ready applied = raft->GetReady();
    REQUIRE(applied.committed_entries.size() == 1);
    CHECK(applied.committed_entries.back().data == "x");
    raft->Advance();
  }

  TEST_CASE("ready ordering: a follower's acknowledgement waits for persistence, a leader's appends do not") {
    MemoryStorage s1;
    MemoryStorage s2;
    Bootstrap(s1, {NodeId(1), NodeId(2)});
    Bootstrap(s2, {NodeId(1), NodeId(2)});
    RaftConfig cfg;
    cfg.pre_vote = false;
    auto r1 = MakeRaft(1, s1, cfg);
    auto r2 = MakeRaft(2, s2, cfg);
    REQUIRE(r1->Campaign().IsOk());
    Ready rd = Persist(*r1, s1);
    REQUIRE(rd.messages.size() == 1);  // the vote request goes out only after term+vote are durable
    CHECK(rd.must_sync);
    CHECK(rd.messages[0].type == MessageType::kVote);
    REQUIRE(r2->Step(rd.messages[0]).IsOk());
    Ready rd2 = Persist(*r2, s2);
    REQUIRE(rd2.messages.size() == 1);
    CHECK(rd2.hard_state->vote == NodeId(1));
    REQUIRE(r1->Step(rd2.messages[0]).IsOk());
    CHECK(r1->GetRole() == Role::kLeader);
    Ready lead = r1->GetReady();
    REQUIRE(lead.early_messages.size() == 1);
    CHECK(lead.early_messages[0].type == MessageType::kAppend);
    CHECK(lead.messages.empty());
    REQUIRE(PersistReady(s1, lead.snapshot, lead.entries, lead.hard_state).IsOk());
    r1->Advance();
    REQUIRE(r2->Step(lead.early_messages[0]).IsOk());
    Ready follow = r2->GetReady();
    CHECK(follow.early_messages.empty());
    REQUIRE(follow.messages.size() == 1);
    CHECK(follow.messages[0].type == MessageType::kAppendResponse);
    CHECK(follow.entries.size() == 1);
    CHECK(follow.must_sync);
    REQUIRE(s2.Append(follow.entries).IsOk());
    r2->Advance();
    // The leader learns the no-op is replicated, commits it and tells the follower: a Ready whose
    // only durable change is the commit index needs no fsync.
    REQUIRE(r1->Step(follow.messages[0]).IsOk());
    Ready commit = Persist(*r1, s1);
    REQUIRE(!commit.early_messages.empty());
    REQUIRE(r2->Step(commit.early_messages[0]).IsOk());
    Ready commit_only = r2->GetReady();
    REQUIRE(commit_only.hard_state.has_value());
    CHECK(commit_only.hard_state->commit == Index(2));
    CHECK(commit_only.entries.empty());
    CHECK_FALSE(commit_only.must_sync);
    r2->Advance();
  }

  TEST_CASE("a new leader refuses membership changes until it commits an entry of its term") {
    MemoryStorage s1;
    MemoryStorage s2;
    Bootstrap(s1, {NodeId(1), NodeId(2)});
    Bootstrap(s2, {NodeId(1), NodeId(2)});
    RaftConfig cfg;
    cfg.pre_vote = false;
    auto r1 = MakeRaft(1, s1, cfg);
    auto r2 = MakeRaft(2, s2, cfg);
    REQUIRE(r1->Campaign().IsOk());
    Ready rd = Persist(*r1, s1);
    REQUIRE(r2->Step(rd.messages[0]).IsOk());
    Ready rd2 = Persist(*r2, s2);
    REQUIRE(r1->Step(rd2.messages[0]).IsOk());
    REQUIRE(r1->GetRole() == Role::kLeader);
    Result<LogPosition> early = r1->ProposeConfigChange({ConfigChangeType::kAddLearner, NodeId(3), {}});
    CHECK(early.GetStatus().Code() == StatusCode::kUnavailable);
    Ready lead = Persist(*r1, s1);
    REQUIRE(r2->Step(lead.early_messages[0]).IsOk());
    Ready ack = Persist(*r2, s2);
    REQUIRE(r1->Step(ack.messages[0]).IsOk());
    CHECK(r1->Log().Committed() == Index(2));
    CHECK(r1->ProposeConfigChange({ConfigChangeType::kAddLearner, NodeId(3), {}}).IsOk());
    CHECK(r1->ProposeConfigChange({ConfigChangeType::kRemove, NodeId(2), {}}).GetStatus().Code() ==
          StatusCode::kFailedPrecondition);
    // Promotion is refused for a node that is not a learner, removal of a stranger too.
    CHECK_FALSE(r1->ProposeConfigChange({ConfigChangeType::kPromote, NodeId(9), {}}).IsOk());
  }

  TEST_CASE("restart rebuilds membership from config entries after the snapshot") {
    MemoryStorage storage;
    Bootstrap(storage, {NodeId(1)});
    {
      auto raft = MakeRaft(1, storage);
      REQUIRE(raft->Campaign().IsOk());
      Persist(*raft, storage);
      REQUIRE(raft->ProposeConfigChange({ConfigChangeType::kAddLearner, NodeId(2), {}}).IsOk());
      Persist(*raft, storage);
      Persist(*raft, storage);  // apply
      CHECK(raft->GetConfiguration().learners == std::vector<NodeId>{NodeId(2)});
    }
    auto again = MakeRaft(1, storage);
    CHECK(again->GetConfiguration().voters == std::vector<NodeId>{NodeId(1)});
    CHECK(again->GetConfiguration().learners == std::vector<NodeId>{NodeId(2)});
    CHECK(again->Log().Applied() == Index(1));
  }

  TEST_CASE("malformed messages are refused and change nothing") {
    MemoryStorage storage;
    Bootstrap(storage, {NodeId(1), NodeId(2)});
    auto raft = MakeRaft(1, storage);
    Message m;
    m.type = MessageType::kAppend;
    m.from = NodeId(2);
    m.to = NodeId(1);
    m.term = Term(3);
    m.index = Index(1);
    m.log_term = Term(1);
    m.entries = {E(2, 3), E(4, 3)};  // gap
    CHECK(raft->Step(m).Code() == StatusCode::kInvalidArgument);
    m.entries = {E(2, 4)};  // entry from a future term
    CHECK(raft->Step(m).Code() == StatusCode::kInvalidArgument);
    m.to = NodeId(9);
    CHECK(raft->Step(m).Code() == StatusCode::kInvalidArgument);
    CHECK(raft->CurrentTerm() == Term(1));
    CHECK(raft->Log().LastIndex() == Index(1));
  }

  TEST_CASE("invalid configurations are rejected with a clear error") {
    MemoryStorage storage;
    RaftConfig cfg;
    CHECK(Raft::Create(cfg, storage).GetStatus().Code() == StatusCode::kInvalidArgument);
    cfg.id = NodeId(1);
    cfg.heartbeat_ticks = 10;
    CHECK(Raft::Create(cfg, storage).GetStatus().Code() == StatusCode::kInvalidArgument);
    cfg.heartbeat_ticks = 1;
    cfg.read_mode = ReadMode::kLease;
    cfg.check_quorum = false;
    CHECK(Raft::Create(cfg, storage).GetStatus().Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("a leader cut off from its quorum stops lease reads when the lease expires, in ticks") {
    MemoryStorage s[3];
    std::unique_ptr<Raft> r[3];
    RaftConfig cfg;
    cfg.read_mode = ReadMode::kLease;
    cfg.pre_vote = false;
    for (int i = 0; i < 3; ++i) {
      Bootstrap(s[i], {NodeId(1), NodeId(2), NodeId(3)});
      r[i] = MakeRaft(static_cast<uint64_t>(i + 1), s[i], cfg);
    }
    // Deliver everything until quiet.
    auto settle = [&]() {
      for (int round = 0; round < 50; ++round) {
        std::vector<Message> out;
        for (int i = 0; i < 3; ++i) {
          if (!r[i]->HasReady()) continue;
          Ready rd = Persist(*r[i], s[i]);
          for (auto& m : rd.early_messages) out.push_back(m);
          for (auto& m : rd.messages) out.push_back(m);
        }
        if (out.empty()) return;
        for (auto& m : out) (void)r[m.to.value - 1]->Step(m);
      }
    };
    for (int t = 0; t < 10; ++t) {
      for (auto& x : r) x->Tick();  // restarted nodes wait out a lease before voting
    }
    REQUIRE(r[0]->Campaign().IsOk());
    settle();
    REQUIRE(r[0]->GetRole() == Role::kLeader);
    r[0]->Tick();  // heartbeat round acknowledged by both followers
    settle();
    CHECK(r[0]->LeaseValid());
    // Now partition the leader: tick it without delivering anything.
    int valid_ticks = 0;
    while (r[0]->LeaseValid() && valid_ticks < 100) {
      r[0]->Tick();
      (void)r[0]->GetReady();
      r[0]->Advance();
      ++valid_ticks;
    }
    // The lease ends election_timeout - drift_margin ticks after the acknowledged round was sent.
    CHECK(valid_ticks == static_cast<int>(cfg.election_timeout_ticks - cfg.lease_drift_margin_ticks));
    CHECK(r[0]->GetRole() == Role::kLeader);  // check-quorum has not yet deposed it
    REQUIRE(r[0]->ReadIndex("after-expiry").IsOk());
    Ready rd = r[0]->GetReady();
    CHECK(rd.read_states.empty());  // needs a heartbeat quorum now, which cannot arrive
    r[0]->Advance();
  }
}

}  // namespace cairn::raft
