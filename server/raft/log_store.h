// The durable Raft log and stable state, on RocksDB.
//
// Holds what a server must find again after a crash: the hard state (term, vote, commit), the
// log entries that follow the last snapshot, and that snapshot's metadata. It is the host's
// side of the Ready contract: everything one Ready asks to persist goes into ONE synced write
// batch (Save), however many entries it carries, so a crash leaves either all of it or none.
//
// Every value carries a CRC-32C over its key and bytes. Open() reads the whole store back and
// checks it: checksums, contiguous indexes, non-decreasing terms, a commit index that the log
// or snapshot covers. Any failure refuses to open with a Corruption status naming the record;
// a replica that trusts a damaged log could acknowledge what it does not have.
//
// Not thread-safe: one owner (the server's storage thread) calls it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "server/raft/types.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace cairn::raft {

// One Ready's durable part, written by Save(SaveRequest) as one batch, applied in this order:
// install the snapshot (if any), append the entries, replace the hard state (if any).
struct SaveRequest {
  // Its data (the state machine image) is stored too, under its own checksummed key.
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  std::optional<HardState> hard_state;
  // With a snapshot the stored log continues: entries from snapshot.index - trailing_entries
  // on stay stored, so a follower a little behind still gets entries after a restart too. The
  // entry at that index is kept as well: a reload needs its term as the window's base.
  uint64_t trailing_entries = 0;
  bool Empty() const { return !snapshot && entries.empty() && !hard_state; }
};

struct LogStoreOptions {
  // fsync every Save. Only tests of something else may turn this off; a server never does.
  bool sync = true;
};

class LogStore {
 public:
  // Opens the store in `directory`, creating it if missing, and verifies everything in it.
  static Result<std::unique_ptr<LogStore>> Open(const std::string& directory, const LogStoreOptions& options = {});
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  const HardState& GetHardState() const { return hard_state_; }
  // The latest snapshot's metadata; nullopt before the first snapshot.
  const std::optional<SnapshotMeta>& LatestSnapshot() const { return snapshot_; }
  // Index of the first stored entry: one past the snapshot (1 for a new log), or at or before
  // the snapshot's index when a trailing window is kept (SaveRequest::trailing_entries).
  Index FirstIndex() const { return first_index_; }
  // Index of the last stored entry; FirstIndex() - 1 when no entry is stored.
  Index LastIndex() const { return last_index_; }
  // Term of the entry at `index`, for index in [FirstIndex() - 1, LastIndex()] or the snapshot's
  // index, which is answered from the snapshot when not stored (term 0 for index 0).
  Result<Term> TermAt(Index index) const;
  // Entries in [low, high), stopping before the total data would pass `bytes_max` (but always
  // at least one entry when low < high). Precondition: FirstIndex() <= low <= high <= LastIndex() + 1.
  Result<std::vector<Entry>> Entries(Index low, Index high, size_t bytes_max) const;

  // One atomic (and, by default, synced) write: stores `entries`, replacing any stored entries
  // at or after entries.front().index (a conflicting suffix), and `hard_state` if given.
  // Preconditions: entries are contiguous; FirstIndex() <= entries.front().index <= LastIndex() + 1.
  Status Save(const std::optional<HardState>& hard_state, const std::vector<Entry>& entries);

  // The whole of one Ready in ONE atomic (and, by default, synced) write batch: the snapshot is
  // installed as SaveSnapshot would (with its data), then `entries` are stored as Save above
  // would (checked against the log as it stands after the snapshot), then the hard state.
  // A snapshot not newer than the stored one fails with kFailedPrecondition and writes nothing.
  Status Save(const SaveRequest& request);

  // The latest snapshot with its data; nullopt before the first snapshot. A snapshot recorded
  // by SaveSnapshot(meta) alone has empty data. Reads RocksDB: call from the owning thread.
  Result<std::optional<Snapshot>> LoadSnapshot() const;

  // Records a snapshot through meta.index and drops the entries it covers; entries after it stay
  // (so a slow follower can still be sent them). If the snapshot is ahead of the log (installed
  // from a leader), every entry is dropped. Older snapshots than the current one are refused.
  Status SaveSnapshot(const SnapshotMeta& meta);

 private:
  LogStore(std::unique_ptr<rocksdb::DB> db, const LogStoreOptions& options);
  // Where the log stands; Save computes the next one before writing, adopts it after.
  struct Bounds {
    Index first_index;
    Index last_index;
    Term last_term;
    std::optional<SnapshotMeta> snapshot;
  };
  Status Recover();
  Status RecoverEntries();
  // Corruption unless a log whose first stored entry is `index` continues the snapshot.
  Status CheckFirstEntry(Index index) const;
  Bounds CurrentBounds() const { return Bounds{first_index_, last_index_, last_term_, snapshot_}; }
  // Add one step of a batch to `batch`, advancing `bounds` to what the log will be after it.
  Status AddSnapshot(rocksdb::WriteBatch& batch, const SnapshotMeta& meta, const std::string* data,
                     uint64_t trailing_entries, Bounds& bounds) const;
  void AddEntries(rocksdb::WriteBatch& batch, const std::vector<Entry>& entries, Bounds& bounds) const;
  Status Write(rocksdb::WriteBatch& batch, std::string_view doing);

  std::unique_ptr<rocksdb::DB> db_;
  LogStoreOptions options_;
  HardState hard_state_;
  std::optional<SnapshotMeta> snapshot_;
  Index first_index_{1};
  Index last_index_{0};
  Term last_term_{0};
};

}  // namespace cairn::raft
