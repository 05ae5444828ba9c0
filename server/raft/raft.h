// Raft: the consensus core as a pure, deterministic state machine.
//
// Input:  Step(message), Tick(), Propose(), ProposeConfigChange(), ReadIndex(),
//         TransferLeadership(), Campaign(); plus reads of already-durable state via Storage.
// Output: a Ready batch (GetReady), acknowledged with Advance().
// The core never reads a clock, touches a socket or file, or starts a thread; the only
// randomness (election timeouts) comes from a Prng seeded by RaftConfig::seed. All calls must
// come from one thread.
//
// Features: pre-vote, check-quorum, a no-op entry at the start of each term, pipelined and
// flow-controlled replication with fast conflict backtracking, commitment only by counting
// replicas of current-term entries, ReadIndex and lease reads, snapshots, one-at-a-time
// membership changes (learners, promotion, removal) and leadership transfer. docs/RAFT.md
// describes the design and its choices.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/status.h"
#include "server/raft/messages.h"
#include "server/raft/progress.h"
#include "server/raft/raft_log.h"
#include "server/raft/read_only.h"
#include "server/raft/storage.h"

namespace cairn::raft {

enum class ReadMode : uint8_t {
  kSafe = 0,   // every ReadIndex is confirmed by a heartbeat quorum
  kLease = 1,  // served locally while the leader lease holds (needs check_quorum); see LeaseValid
};

// Deliberately broken variants, used only by tests to prove the simulation checker catches
// them. Never set outside tests.
enum class TestingBug : uint8_t {
  kNone = 0,
  kCommitPreviousTermByCounting,  // commit an older-term entry once a majority has it (Figure 8)
  kAckAppendBeforePersist,        // follower acknowledges appends before they are durable
  kVoteWithoutLogCheck,           // grant votes without the "log at least as up to date" check
};

struct RaftConfig {
  NodeId id;
  // A follower campaigns after a random timeout in [election, 2 * election) ticks of silence.
  uint32_t election_timeout_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  ReadMode read_mode = ReadMode::kSafe;
  // Lease reads end this many ticks before a follower could vote for someone else; it absorbs
  // clock drift between nodes (see Raft::LeaseValid).
  uint32_t lease_drift_margin_ticks = 2;
  // One append message carries at most this many bytes of entries (at least one entry).
  uint64_t append_bytes_max = 1 << 20;
  // Flow control per follower in the replicate state.
  size_t inflight_messages_max = 64;
  uint64_t inflight_bytes_max = 16 << 20;
  // Proposals are refused while this many bytes are appended but not committed.
  uint64_t uncommitted_bytes_max = 64 << 20;
  // One Ready hands over at most this many bytes of committed entries.
  uint64_t committed_bytes_per_ready_max = 16 << 20;
  // A learner is promoted only when it is at most this many entries behind the leader.
  uint64_t promote_lag_entries_max = 16;
  // The host's state machine applied index at restart; 0 means the snapshot index.
  Index applied;
  uint64_t seed = 0;
  TestingBug testing_bug = TestingBug::kNone;
};

// One batch of work for the host. The ordering contract:
//
//   1. Persist `snapshot` (if any), `entries` (truncating any conflicting suffix first) and
//      `hard_state` (if set) as ONE synced write: a crash must never leave a vote or term
//      durable without the other, and nothing in `messages` may leave before it is durable,
//      because votes and append acknowledgements promise that it is.
//   2. `early_messages` may be sent at any time, even before or in parallel with step 1: they
//      are the leader's own appends, heartbeats, snapshots and TimeoutNow, which promise
//      nothing about the leader's disk. (The leader counts itself toward a commit only once Advance() reports its
//      own write durable, so a leader crash before its write completes never loses a
//      committed entry.)
//   3. After step 1: send `messages`.
//   4. After step 1: restore `snapshot` into the state machine, then apply `committed_entries`
//      in order (they may include entries from this same Ready's `entries`, hence "after").
//      Serve reads for `read_states` once applied through their index.
//   5. Call Advance(). Until then GetReady() must not be called again, but Step/Tick/Propose
//      may be, so the host can keep receiving while its disk works.
struct Ready {
  std::optional<SoftState> soft_state;  // set if leader or role changed
  std::optional<HardState> hard_state;  // set if it changed
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;
  std::vector<Message> early_messages;
  std::vector<Message> messages;
  std::vector<Entry> committed_entries;
  std::vector<ReadState> read_states;
  // Whether step 1 needs an fsync: new entries, a snapshot, or a new term or vote. A hard state
  // that only advances `commit` may be written without one: a lost commit index is learned
  // again from the leader (but a host whose state machine is durable must then not record an
  // applied index beyond the durable commit).
  bool must_sync = false;
};

// A read-only picture of a node for tests, tracing and status endpoints.
struct ProgressView {
  NodeId id;
  Index match;
  Index next;
  ProgressState state = ProgressState::kProbe;
  bool learner = false;
};

class Raft {
 public:
  // Restores from `storage` (hard state, snapshot, log). `storage` must outlive the Raft.
  static Result<std::unique_ptr<Raft>> Create(const RaftConfig& config, const Storage& storage);
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // --- input ---
  // A message from a peer. Messages from older terms or for another node are ignored (OK).
  Status Step(const Message& m);
  void Tick();
  // Appends a command; returns where it landed. Fails with kUnavailable if not the leader.
  Result<LogPosition> Propose(std::string data);
  // One change at a time; only a leader that has committed an entry of its own term.
  Result<LogPosition> ProposeConfigChange(const ConfigChange& change);
  // Requests a linearizable read point; the answer arrives as a ReadState with `context`.
  Status ReadIndex(std::string context);
  // Hands leadership to `target`, a voter; proposals are refused until it completes or the
  // election timeout passes.
  Status TransferLeadership(NodeId target);
  // Starts an election now (pre-vote first if enabled).
  Status Campaign();
  // The transport could not deliver a snapshot to `to`: retry through probing.
  void ReportSnapshotFailed(NodeId to);

  // --- output ---
  bool HasReady() const;
  Ready GetReady();
  void Advance();

  // --- observation ---
  NodeId Id() const { return id_; }
  Term CurrentTerm() const { return term_; }
  NodeId Vote() const { return vote_; }
  NodeId Leader() const { return lead_; }
  Role GetRole() const { return role_; }
  HardState GetHardState() const { return HardState{term_, vote_, log_.Committed()}; }
  const Configuration& GetConfiguration() const { return config_; }
  // The log index of the newest configuration change in effect (a snapshot's index when the
  // configuration came from one; 0 for the bootstrap configuration).
  Index ConfigurationIndex() const { return config_applied_index_; }
  const RaftLog& Log() const { return log_; }
  std::vector<ProgressView> Progresses() const;
  // Lease reads: whether the leader may serve a read without a heartbeat round right now.
  bool LeaseValid() const;
  const RaftConfig& Config() const { return cfg_; }

 private:
  Raft(const RaftConfig& config, const Storage& storage);
  Status Restore();

  // roles (raft.cpp)
  void BecomeFollower(Term term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Reset(Term term);
  void ResetRandomizedTimeout();
  void CampaignNow(bool pre_vote, bool transfer);
  void TickElection();
  void TickHeartbeat();
  bool Promotable() const;
  bool InLease() const;

  // step (raft.cpp)
  static Status ValidateMessage(const Message& m);
  // Applies the term rules; false if the message is done with (ignored or answered).
  bool StepTerm(const Message& m);
  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleVoteResponse(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleReadIndexResponse(const Message& m);
  void Send(Message m);

  // leader (raft_leader.cpp)
  bool AppendEntries(std::vector<Entry> entries);
  bool SendAppend(NodeId to, bool send_if_empty);
  bool SendSnapshot(NodeId to, Progress& pr);
  void BroadcastAppend();
  uint64_t BroadcastHeartbeat();
  void SendHeartbeat(NodeId to, uint64_t round);
  void HandleAppendResponse(const Message& m, Progress& pr);
  void HandleHeartbeatResponse(const Message& m, Progress& pr);
  Status HandleReadIndexRequest(NodeId from, std::string context);
  void ConfirmReads();
  void ReleaseRead(const PendingRead& read);
  bool MaybeCommit();
  bool CommittedInCurrentTerm() const;
  bool CheckQuorumActive();
  void AbortTransfer() {
    lead_transferee_ = kNoNode;
    timeout_now_sent_ = false;
  }
  void SendTimeoutNow(NodeId to);
  Status ValidateConfigChange(const ConfigChange& change) const;

  // membership (raft_leader.cpp)
  void NoteConfigEntries(const std::vector<Entry>& entries);
  void ApplyCommittedConfigChanges();
  void ApplyConfigChange(const ConfigChange& change);
  void AddProgress(NodeId id, bool learner);
  Index SelfStableIndex() const;

  RaftConfig cfg_;
  NodeId id_;
  const Storage& storage_;
  RaftLog log_;
  Prng prng_;

  // Durable (HardState); persisted through Ready before anything depends on it.
  Term term_;
  NodeId vote_;

  Role role_ = Role::kFollower;
  NodeId lead_;
  Configuration config_;
  // Config-change entries appended but not yet committed, by index; applied on commit.
  std::map<Index, ConfigChange> pending_config_entries_;
  // Index of the newest config change in effect (config_ reflects everything up to it).
  Index config_applied_index_;
  // Leader: index of the newest config change it proposed; no new change until committed.
  Index pending_config_index_;

  std::map<NodeId, Progress> progress_;  // leader only; includes self
  std::map<NodeId, int> votes_;          // candidate: 1 granted, -1 rejected
  ReadOnly read_only_;
  NodeId lead_transferee_;
  bool timeout_now_sent_ = false;
  bool lease_disabled_ = false;  // set once this leader sent TimeoutNow
  // Leader: bytes of appended, uncommitted entries (by index) for uncommitted_bytes_max.
  std::map<Index, uint64_t> uncommitted_sizes_;
  uint64_t uncommitted_bytes_ = 0;

  uint32_t election_elapsed_ = 0;
  uint32_t heartbeat_elapsed_ = 0;
  uint32_t randomized_election_timeout_ = 0;
  uint64_t ticks_ = 0;  // since this incarnation started

  // Output accumulated for the next Ready.
  std::vector<Message> msgs_;
  std::vector<Message> early_msgs_;
  std::vector<ReadState> read_states_;
  SoftState prev_soft_;
  HardState prev_hard_;

  // The Ready handed out and not yet Advanced.
  bool ready_in_flight_ = false;
  std::optional<LogPosition> ready_last_entry_;
  Index ready_snapshot_index_;
  Index ready_applied_to_;
};

}  // namespace cairn::raft
