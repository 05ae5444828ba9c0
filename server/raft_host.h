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
  // The state as of the last applied command, as an opaque image.
  virtual std::string TakeSnapshot() = 0;
  // Replaces the whole state with an image from TakeSnapshot (possibly another replica's).
  virtual Status Restore(std::string_view image) = 0;
};

struct RaftHostOptions {
  // Core settings; `raft.id` names this replica. `raft.applied` is set by the host.
  raft::RaftConfig raft;
  // Every voter of a new cluster, this one included, with its peer (Raft) address.
  std::map<raft::NodeId, NetAddress> peers;
  std::string data_dir;
  Duration tick_interval = std::chrono::milliseconds(10);
  // Proposals waiting to be applied; beyond this Propose fails with kResourceExhausted.
  size_t pending_proposals_max = 1 << 16;
  // One batch entry carries at most this many bytes of commands (one bigger command still fits).
  size_t batch_bytes_max = 1 << 20;
  // ReadIndex requests waiting for their read point.
  size_t pending_reads_max = 1 << 14;
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
  RaftHostStats stats;
};

class RaftHost {
 public:
  // OK once the command is applied at this replica. kUnavailable: not the leader (see
  // Leader()); kResourceExhausted: a limit was reached; kAborted: leadership was lost or the
  // entry was replaced, so the outcome is unknown; kInvalidArgument: empty command.
  using ProposeFn = std::function<void(Status)>;
  // The index through which this replica has applied when a linearizable read may be served.
  using ReadFn = std::function<void(Result<raft::Index>)>;

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
  struct ReadyRead {
    raft::Index index;
    ReadFn done;
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
  void ApplyEntries(std::span<const raft::Entry> entries);
  void ApplyBatch(const raft::Entry& entry);
  void ResolveProposal(const raft::Entry& entry);
  void FailProposalsThrough(raft::Index index, const Status& why);
  static void FailEach(std::vector<ProposeFn>& done, const Status& why);
  void FailAllPending(const Status& why);
  void ServeReads();
  void MaybeCompact();
  void OnCompacted(Status status, raft::Snapshot snapshot);
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
  std::map<raft::Index, PendingProposal> proposals_;
  std::vector<QueuedCommand> queued_;  // not yet handed to the core
  size_t queued_bytes_ = 0;
  size_t pending_count_ = 0;                     // commands in queued_ and proposals_
  std::map<std::string, ReadFn> reads_waiting_;  // by context, until the read point arrives
  std::vector<ReadyRead> reads_ready_;           // read point known, waiting for apply
  uint64_t next_read_context_ = 1;
  RaftHostStats stats_;
  std::shared_ptr<RaftHost*> alive_;
};

}  // namespace cairn::server
