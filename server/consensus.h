// Consensus: the engine-neutral interface the server drives (Raft today, Multi-Paxos later).
//
// An engine is a pure state machine with the same shape as the Raft core: input through
// Step/Tick/Propose/..., output through a ConsensusReady batch acknowledged with Advance. Its
// messages travel as opaque bytes, its terms/ballots as a generic `epoch`, its nodes as
// ReplicaIds, so nothing engine-specific leaks into the server's FSM, RPC or transport code.
//
// Host loop (one thread; see ConsensusReady for why the order matters):
//   while (engine.HasReady()) {
//     ConsensusReady rd = engine.GetReady();
//     send(rd.early_messages);            // may overlap the write below
//     engine.Persist(rd.durable);         // one synced batch (or the host's own writer)
//     send(rd.messages);
//     apply(rd.snapshot_to_restore, rd.committed); serve(rd.reads);
//     engine.Advance();
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cairn::consensus {

using ReplicaId = uint64_t;  // 0 means "none"
inline constexpr ReplicaId kNoReplica = 0;

// Where a proposal landed: it is accepted once the command at `index` with this `epoch` is
// committed; another epoch at that index means it was lost to a leader change.
struct ProposalId {
  uint64_t epoch = 0;
  uint64_t index = 0;
  friend bool operator==(const ProposalId&, const ProposalId&) = default;
};

enum class CommandKind : uint8_t {
  kCommand = 0,     // the state machine's own command
  kNoop = 1,        // written by a new leader; the state machine ignores it
  kMembership = 2,  // data is an encoded MembershipChange, already in effect in the engine
};

struct MembershipChange {
  enum class Type : uint8_t { kAddLearner = 0, kPromote = 1, kRemove = 2 };
  Type type = Type::kAddLearner;
  ReplicaId replica = kNoReplica;
};

// The bytes of a kMembership record: u8 type, varint replica.
std::string EncodeMembershipChange(const MembershipChange& change);
Result<MembershipChange> DecodeMembershipChange(std::string_view bytes);

struct Membership {
  std::vector<ReplicaId> voters;
  std::vector<ReplicaId> learners;
};

// One log slot as it must be stored (or as it is applied).
struct LogRecord {
  uint64_t index = 0;
  uint64_t epoch = 0;
  CommandKind kind = CommandKind::kCommand;
  std::string data;
};

struct SnapshotImage {
  uint64_t index = 0;  // last index it covers
  uint64_t epoch = 0;
  Membership membership;
  std::string data;  // the state machine's image, opaque to the engine
};

// What must be durable before `messages` leave: written as one synced batch.
struct DurableBatch {
  std::optional<SnapshotImage> snapshot;  // install first
  std::vector<LogRecord> records;         // then append, replacing anything from records.front().index on
  std::optional<std::string> hard_state;  // then replace the engine's metadata (term/vote, ballots)
  bool Empty() const { return !snapshot && records.empty() && !hard_state; }
};

struct Envelope {
  ReplicaId to = kNoReplica;
  std::string bytes;
};

struct ReadPoint {
  uint64_t index = 0;  // serve the read once applied through here
  std::string context;
};

struct ConsensusReady {
  DurableBatch durable;
  std::vector<Envelope> early_messages;              // may be sent before `durable` is written
  std::vector<Envelope> messages;                    // only after `durable` is durable
  std::optional<SnapshotImage> snapshot_to_restore;  // restore the state machine from it first
  std::vector<LogRecord> committed;                  // then apply these in order
  std::vector<ReadPoint> reads;
  std::optional<ReplicaId> leader;  // set when the known leader changed
};

class Consensus {
 public:
  virtual ~Consensus() = default;

  virtual ReplicaId Id() const = 0;
  virtual ReplicaId Leader() const = 0;
  virtual bool IsLeader() const = 0;
  virtual Membership CurrentMembership() const = 0;

  // --- input ---
  // kUnavailable if not the leader (retry at Leader()).
  virtual Result<ProposalId> Propose(std::string command) = 0;
  // One change at a time; a learner is promoted only once it has caught up.
  virtual Result<ProposalId> ProposeMembershipChange(const MembershipChange& change) = 0;
  // The answer arrives later as a ReadPoint with the same context (or never: retry on timeout).
  virtual Status ReadIndex(std::string context) = 0;
  virtual Status TransferLeadership(ReplicaId target) = 0;
  // A message from a peer, exactly as it arrived; kCorruption if it cannot be decoded.
  virtual Status Step(std::string_view bytes) = 0;
  virtual void Tick() = 0;

  // --- output ---
  virtual bool HasReady() const = 0;
  virtual ConsensusReady GetReady() = 0;
  // Writes a Ready's durable batch to the engine's store and syncs it.
  virtual Status Persist(const DurableBatch& batch) = 0;
  virtual void Advance() = 0;

  // --- snapshots ---
  // The host captured its state machine through `image.index` (<= the last applied index):
  // record it and drop the log before it, keeping `trailing_entries` so slightly slow replicas
  // catch up from the log rather than by snapshot.
  virtual Status CompactTo(const SnapshotImage& image, uint64_t trailing_entries) = 0;
};

}  // namespace cairn::consensus
