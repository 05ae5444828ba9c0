// RaftHost: runs one Raft replica in a server process.
//
// It owns the pure core (server/raft/raft.h), its durable storage, the peer transport and a
// storage thread, and drives them from the Env's loop thread:
//
//   - Tick() from an Env timer every tick_interval;
//   - peer messages from PeerTransport, decoded with the message codec, into Step();
//   - proposals and read requests from the embedding server into the core;
//   - the Ready loop: early_messages go out at once; the Ready's durable part (snapshot,
//     entries, hard state) goes to the storage thread through a bounded queue and is written
//     as ONE synced RocksDB batch; when it is durable the result comes back through Env::Post,
//     the memory view is updated, `messages` are sent, the snapshot and committed entries are
//     applied to the StateMachine, read points are served, and the core is Advanced.
//
// While one batch is being synced the loop keeps receiving: new proposals and appends collect
// in the core and leave together in the next Ready (group commit: one fsync per Ready, however
// many entries it carries). The loop thread never waits for the disk.
//
// A Ready whose only durable change is a higher commit index (same term and vote) is not
// synced on its own: the commit index is not needed for safety (a restarted node learns it
// again from the leader), so it rides along with the next batch, as etcd does.
//
// Commands proposed during one loop iteration (or while a write is in flight) go into the log
// as ONE entry holding the batch (a varint count, then each command length-prefixed); the
// host unpacks it and hands each command to the StateMachine in order. One entry per batch
// instead of one per command saves the per-entry work everywhere: one append message per
// follower, one log record, one acknowledgement.
//
// Committed entries that were already durable here before a Ready are applied (and their
// proposals acknowledged) while that Ready's own write is still in flight: they are committed
// by a quorum and on this disk, so waiting for an unrelated fsync would only add latency.
//
// Threads: every method must be called on the Env's loop thread, and every callback runs there.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/log.h"
#include "server/raft/durable_storage.h"
#include "server/raft/peer_transport.h"
#include "server/raft/raft.h"

namespace cairn::server {

// The replicated state machine the host applies committed commands to (loop thread).
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies one committed command, in log order. Leader no-ops and membership entries are not
  // passed on.
  virtual void Apply(raft::Index index, std::string_view command) = 0;
  // Called after each run of Apply calls (one per batch of committed entries, possibly with
  // no command in it), before the host does anything else. A machine may defer its durable
  // writes to here, to write a whole run at once (group commit). The host takes snapshots,
  // compacts its log and reads DurableApplied only between runs, so deferred writes are
  // always done by then: the log is never compacted past a command the machine holds only
  // in memory.
  virtual void FinishApplying() {}
  // The state as of the last applied command, as an opaque image.
  virtual std::string TakeSnapshot() = 0;
  // Replaces the whole state with an image from TakeSnapshot (possibly another replica's).
  virtual Status Restore(std::string_view image) = 0;
  // For a machine that keeps its own durable state: the index through which that state already
  // reflects the log (0, the default: nothing is kept). At startup the host still offers the
  // log's snapshot to Restore (such a machine keeps its newer state instead), then re-delivers
  // only the entries after this index, from at most the durable commit index on (the commit
  // index is written lazily, so a few entries the machine holds may come again: it must
  // ignore them). Only what is written counts: commands whose writes FinishApplying has yet
  // to do are not durable.
  virtual raft::Index DurableApplied() const { return raft::Index(0); }
};

struct RaftHostOptions {
  // Core settings; `raft.id` names this replica. `raft.applied` is set by the host.
  raft::RaftConfig raft;
  // Every voter of a new cluster, this one included, with its peer (Raft) address; for a
  // joining replica, itself and the members it will hear from. Once the replica has durable
  // state, the address book kept there wins over this list (except for this replica's own
  // address): members added or removed since the cluster was founded are known from it.
  std::map<raft::NodeId, NetAddress> peers;
  // A new replica joining a running cluster: it does not bootstrap a configuration of its own
  // but waits, with an empty log, for the leader to add it (AddServer) and send it the log.
  bool join = false;
  std::string data_dir;
  Duration tick_interval = std::chrono::milliseconds(10);
  // Proposals waiting to be applied; beyond this Propose fails with kResourceExhausted.
  size_t pending_proposals_max = 1 << 16;
  // One batch entry carries at most this many bytes of commands (one bigger command still fits).
  size_t batch_bytes_max = 1 << 20;
  // ReadIndex requests waiting for their read point.
  size_t pending_reads_max = 1 << 14;
  // A ReadIndex request whose read point has not arrived within this many ticks fails with
  // kUnavailable: the request forwarded to the leader, or its answer, was lost (the core does
  // not retry, and a leader that has not yet committed in its term refuses without an answer
  // the host could match). Well above a heartbeat round trip, even on a loaded machine.
  uint32_t read_timeout_ticks = 100;
  // AddServer gives up (kTimeout) if the new learner has not caught up within this
  // many ticks; it then stays a learner until removed.
  uint32_t catch_up_timeout_ticks = 3000;
  // Jobs waiting for the storage thread (at most one Ready and one compaction are in flight).
  size_t storage_queue_max = 4;
  // Take a state machine snapshot and compact the log every this many applied entries (0: never).
  uint64_t snapshot_entries = 100000;
  // Entries kept in memory behind a snapshot for slightly slow followers.
  uint64_t snapshot_trailing_entries = 10000;
  // fsync every batch. Only tests of something else may turn this off.
  bool sync = true;
  raft::PeerTransportOptions transport;
};

struct RaftHostStats {
  uint64_t readies = 0;
  uint64_t persists = 0;           // synced batches
  uint64_t persisted_entries = 0;  // entries written by them
  uint64_t applied_commands = 0;
  uint64_t snapshots_taken = 0;
  uint64_t snapshots_restored = 0;
};

struct RaftHostStatus {
  raft::NodeId id;
  raft::NodeId leader;
  raft::Role role = raft::Role::kFollower;
  raft::Term term;
  raft::Index commit;
  raft::Index applied;
  raft::Index last_index;
  raft::Index snapshot_index;
  // Milliseconds since this replica last received a message from the node it then knew as
  // leader (since the host started, if never); 0 on the leader. Consul's X-Consul-LastContact.
  uint64_t last_contact_ms = 0;
  RaftHostStats stats;
};

// A member of the Raft configuration and where to reach it.
struct RaftServer {
  raft::NodeId id;
  NetAddress address;  // empty host if unknown
  bool voter = false;
};

class RaftHost {
 public:
  // OK once the command is applied at this replica. kUnavailable: not the leader (see
  // Leader()); kResourceExhausted: a limit was reached; kAborted: leadership was lost or the
  // entry was replaced, so the outcome is unknown; kInvalidArgument: empty command.
  using ProposeFn = std::function<void(Status)>;
  // The index through which this replica has applied when a linearizable read may be served.
  // Fails with kAborted if the leader changes while the read point is pending, and with
  // kUnavailable if it does not arrive within read_timeout_ticks; either way the caller retries.
  using ReadFn = std::function<void(Result<raft::Index>)>;
  // The outcome of a membership change; see AddServer and RemoveServer.
  using ChangeFn = std::function<void(Status)>;

  // Opens the storage in options.data_dir (recovering what is there), restores the state
  // machine from its snapshot, listens on the peer address of options.raft.id and starts
  // ticking. `env`, `logger` and `state_machine` must outlive the host.
  static Result<std::unique_ptr<RaftHost>> Open(Env& env, Logger& logger, StateMachine& state_machine,
                                                RaftHostOptions options);
  // Stops ticking and waits for the storage thread to finish its current write. Callbacks of
  // proposals and reads still pending are dropped without being called.
  ~RaftHost();
  RaftHost(const RaftHost&) = delete;
  RaftHost& operator=(const RaftHost&) = delete;

  void Propose(std::string command, ProposeFn done);
  void ReadIndex(ReadFn done);
  // Starts an election now (tests and single-node bootstrap).
  Status Campaign();

  // Membership, one change at a time, on the leader. AddServer adds `id` as a learner (its
  // address travels in the log entry, so every replica learns it), waits until it has caught
  // up and promotes it; `done` is called once the promotion is applied here. RemoveServer
  // removes a voter or learner once its removal is applied here. Errors: kUnavailable (not
  // the leader, or it has not committed in its term yet), kFailedPrecondition (a change is in
  // progress; removing the last voter, or a voter when the voters left that this leader can
  // reach would not be a quorum of them), kAlreadyExists, kNotFound, kInvalidArgument,
  // kTimeout (not caught up within catch_up_timeout_ticks; it stays a learner),
  // kAborted (leadership lost or the entry replaced: the outcome is unknown).
  void AddServer(raft::NodeId id, NetAddress address, ChangeFn done);
  void RemoveServer(raft::NodeId id, ChangeFn done);
  // The configuration in effect here (voters, then learners, by id) with known addresses.
  std::vector<RaftServer> Configuration() const;
  raft::Index ConfigurationIndex() const;

  // A channel for the embedding server beside Raft's own messages, on the same peer links (a
  // follower handing a write to the leader). Its frames carry a tag byte that no Raft message
  // starts with. `fn` runs on the loop thread; messages can be lost like any peer message.
  using HostMessageFn = std::function<void(raft::NodeId from, std::string_view bytes)>;
  void SetHostMessageHandler(HostMessageFn fn) { host_message_ = std::move(fn); }
  // False when it cannot be sent now (unknown peer, no connection, over a limit).
  bool SendHostMessage(raft::NodeId to, std::string_view bytes);

  raft::NodeId Id() const { return options_.raft.id; }
  raft::NodeId Leader() const { return raft_->Leader(); }
  bool IsLeader() const { return raft_->GetRole() == raft::Role::kLeader; }
  raft::Index Applied() const { return applied_; }
  RaftHostStatus GetStatus() const;
  const raft::PeerTransport& Transport() const { return *transport_; }

 private:
  class StorageWorker;
  // The commands of one batch entry, waiting for it to be applied.
  struct PendingProposal {
    raft::Term term;
    std::vector<ProposeFn> done;
  };
  struct QueuedCommand {
    std::string command;
    ProposeFn done;
  };
  struct WaitingRead {
    ReadFn done;
    raft::NodeId leader;     // the leader the core asked (this replica, or where it forwarded)
    uint64_t deadline_tick;  // fails once ticks_ reaches it
  };
  struct ReadyRead {
    raft::Index index;
    ReadFn done;
  };
  // The membership change in progress (leader only).
  struct MembershipChange {
    enum class Stage : uint8_t { kAddingLearner, kCatchingUp, kPromoting, kRemoving };
    Stage stage = Stage::kAddingLearner;
    raft::NodeId node;
    raft::LogPosition position;  // of the entry being waited for (not while catching up)
    uint64_t deadline_tick = 0;  // catching up fails once ticks_ reaches it
    ChangeFn done;
  };
  // The non-durable rest of a Ready whose durable part is being written.
  struct InFlight {
    raft::Ready ready;
    raft::SaveRequest request;
  };

  RaftHost(Env& env, Logger& logger, StateMachine& state_machine, RaftHostOptions options);
  Status Start();
  void ScheduleTick();
  void OnPeerMessage(raft::NodeId from, std::string_view bytes);
  void SchedulePump();
  // Takes Readies until one needs the disk (or none is left).
  void Pump();
  raft::SaveRequest TakeDurablePart(raft::Ready& ready);
  // Hands the queued commands to the core as batch entries.
  void ProposeQueued();
  // Applies the committed entries of `ready` that were durable here before it.
  void ApplyDurableCommitted(const raft::Ready& ready, const raft::SaveRequest& request);
  void OnPersisted(Status status, InFlight in_flight);
  // Steps 3-5 of the Ready contract, once the durable part is durable.
  void FinishReady(raft::Ready& ready);
  void Send(std::vector<raft::Message>& messages);
  void NoteSoftState(const raft::SoftState& soft);
  void RestoreSnapshot(const raft::Snapshot& snapshot);
  // Applies a run of committed entries, then lets the state machine finish the run.
  void ApplyEntries(std::span<const raft::Entry> entries);
  void ApplyBatch(const raft::Entry& entry);
  void ResolveProposal(const raft::Entry& entry);
  void FailProposalsThrough(raft::Index index, const Status& why);
  static void FailEach(std::vector<ProposeFn>& done, const Status& why);
  void FailAllPending(const Status& why);
  // Fails the reads waiting for a read point, except those asked of `leader` (if not kNoNode).
  void FailWaitingReads(const Status& why, raft::NodeId leader = raft::kNoNode);
  void ExpireReads();
  void ServeReads();
  void MaybeCompact();
  void OnCompacted(Status status, raft::Snapshot snapshot);
  // membership (raft_host_membership.cpp)
  // The state machine's image wrapped with the address book of `config`'s members.
  std::string TakeHostSnapshot(const raft::Configuration& config);
  // Restores the state machine and the address book from a TakeHostSnapshot image.
  Status RestoreHostSnapshot(std::string_view data);
  // Learns the addresses of members added by config changes stored after the snapshot.
  void NoteStoredMembers();
  void NoteMembershipEntry(const raft::Entry& entry);
  void NoteAppliedForMembership(const raft::Entry& entry);
  Status ProposeMembership(const raft::ConfigChange& change, MembershipChange::Stage stage, ChangeFn& done);
  Status CheckRemovalKeepsQuorum(raft::NodeId id) const;
  void TryPromote();
  void FinishMembership(const Status& status);
  void FailMembershipOnLeadershipLoss();
  // Tells the transport about peers added to or removed from the address book.
  void SyncTransportPeers();

  // Runs `fn` on the loop unless the host is gone by then.
  std::function<void()> Guarded(std::function<void()> fn);

  Env& env_;
  Logger& logger_;
  StateMachine& state_machine_;
  RaftHostOptions options_;
  std::unique_ptr<raft::DurableStorage> storage_;
  std::unique_ptr<raft::Raft> raft_;
  std::unique_ptr<raft::PeerTransport> transport_;
  std::unique_ptr<StorageWorker> worker_;
  TimerId tick_timer_ = 0;
  bool pump_scheduled_ = false;
  bool persist_in_flight_ = false;
  bool compaction_in_flight_ = false;
  // Term and vote of the last hard state handed to the storage thread: a hard state that
  // differs only in its commit index from this one may be written lazily.
  raft::HardState submitted_hard_state_;
  std::optional<raft::HardState> lazy_hard_state_;
  raft::Index applied_;
  raft::Index snapshot_index_;
  raft::Role role_ = raft::Role::kFollower;
  uint64_t ticks_ = 0;
  MonoTime last_leader_contact_;
  std::map<raft::Index, PendingProposal> proposals_;
  std::vector<QueuedCommand> queued_;  // not yet handed to the core
  size_t queued_bytes_ = 0;
  size_t pending_count_ = 0;                          // commands in queued_ and proposals_
  std::map<std::string, WaitingRead> reads_waiting_;  // by context, until the read point arrives
  std::vector<ReadyRead> reads_ready_;                // read point known, waiting for apply
  uint64_t next_read_context_ = 1;
  std::optional<MembershipChange> membership_;
  std::map<raft::NodeId, NetAddress> addresses_;        // members, and one being added
  std::map<raft::NodeId, NetAddress> transport_peers_;  // what the transport was told
  RaftHostStats stats_;
  HostMessageFn host_message_;
  std::shared_ptr<RaftHost*> alive_;
};

}  // namespace cairn::server
