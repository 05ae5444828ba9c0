// Storage: the core's read-only view of what is already durable.
//
// The host owns the durable log (a RocksDB log store in the server, an in-memory one in tests)
// and writes to it only while handling a Ready: it appends Ready::entries (truncating any
// conflicting suffix first), stores Ready::hard_state and installs Ready::snapshot, all in one
// synced batch, before Raft::Advance. Compaction is also the host's call: after taking a
// snapshot of its state machine at some applied index it records that snapshot and drops the
// log prefix behind it, keeping a trailing window (RaftConfig::snapshot_trailing_entries) so a
// follower that is only slightly behind is sent entries rather than yet another snapshot.
//
// The core only reads, and only from the thread that drives it. Indexes follow one layout:
//
//   [ snapshot (covers ..= first-1) ][ entries first ..= last ]
//
// so TermAt(first - 1) is the snapshot's term, and an empty log has first = last + 1.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/status.h"
#include "server/raft/types.h"

namespace cairn::raft {

// What a node restarts from.
struct InitialState {
  HardState hard_state;
  // The newest snapshot's metadata (all zero if none). Its configuration is the membership as of
  // its index; the core replays committed config-change entries after it to rebuild the
  // current one. The log may keep entries from before the snapshot index (the trailing window).
  SnapshotMeta snapshot;
};

// Errors from Storage reads: kNotFound means "compacted" (below FirstIndex), kUnavailable
// "not written yet" (above LastIndex or a snapshot being rebuilt); anything else is fatal.
inline Status CompactedError() { return Status::NotFound("raft log compacted"); }
inline bool IsCompacted(const Status& s) { return s.Code() == StatusCode::kNotFound; }
inline Status UnavailableEntryError() { return Status::Unavailable("raft log entry not available"); }

class Storage {
 public:
  virtual ~Storage() = default;

  virtual Result<InitialState> GetInitialState() const = 0;
  // Entries in [lo, hi), stopping early once `bytes_max` is reached but always returning at
  // least one entry when lo < hi. Precondition: FirstIndex() <= lo and hi <= LastIndex() + 1
  // (otherwise kNotFound / kUnavailable).
  virtual Result<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t bytes_max) const = 0;
  // Term of the entry at `i`, for i in [FirstIndex() - 1, LastIndex()].
  virtual Result<Term> TermAt(Index i) const = 0;
  virtual Index FirstIndex() const = 0;
  virtual Index LastIndex() const = 0;
  // The newest snapshot with its data, for sending to a follower that is too far behind.
  virtual Result<Snapshot> GetSnapshot() const = 0;
};

// A Storage the host can also write: what a durable log store (RocksDB in the server,
// MemoryStorage in tests) implements. Writes happen only while handling a Ready, in this order
// for one Ready: ApplySnapshot, Append, SetHardState, then Sync, before the Ready's `messages`
// are sent. An implementation may buffer the first three and make them durable together in
// Sync (one fsync per Ready: group commit).
class WritableStorage : public Storage {
 public:
  // Replaces the log with `snapshot` if it is newer than the current one.
  virtual Status ApplySnapshot(const Snapshot& snapshot) = 0;
  // Appends contiguous entries, first discarding any stored suffix from entries.front().index.
  virtual Status Append(const std::vector<Entry>& entries) = 0;
  virtual Status SetHardState(const HardState& hard_state) = 0;
  virtual Status Sync() = 0;
  // Records the state machine's image at `index` (<= the last applied index).
  virtual Status CreateSnapshot(Index index, const Configuration& config, std::string data) = 0;
  // Drops entries up to and including `index`; never beyond the newest snapshot.
  virtual Status Compact(Index index) = 0;
};

// Persists one Ready's durable part to `storage` in the required order and syncs it.
Status PersistReady(WritableStorage& storage, const std::optional<Snapshot>& snapshot,
                    const std::vector<Entry>& entries, const std::optional<HardState>& hard_state);

}  // namespace cairn::raft
