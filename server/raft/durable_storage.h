// DurableStorage: the Raft core's Storage in a server, with a LogStore (RocksDB) underneath.
//
// The core reads its log on the loop thread, often (every append it sends), so those reads must
// never touch RocksDB: this class keeps the log since the last compaction, the latest snapshot
// (metadata and data) and the hard state in memory, and answers every Storage read from there.
// Writes go to disk first and into memory second, in two halves that run on different threads:
//
//   storage thread:  Persist(request)          one synced RocksDB batch (LogStore::Save)
//   loop thread:     ApplyPersisted(request)   the same change mirrored in memory, and only
//                                              then Raft::Advance
//
// so the in-memory view never shows the core anything that is not yet durable. Compaction works
// the same way (PersistCompaction, then ApplyCompaction). Open() rebuilds the memory view from
// disk at startup (recovery) and verifies the snapshot data's checksum.
//
// Threads: the LogStore half (Persist*) belongs to one storage thread at a time; the memory
// half (reads, Apply*) to the loop thread. Neither half touches the other's state.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "server/raft/log_store.h"
#include "server/raft/memory_storage.h"
#include "server/raft/storage.h"

namespace cairn::raft {

class DurableStorage final : public Storage {
 public:
  // Opens (or creates) the log store in `directory` and loads it into memory.
  static Result<std::unique_ptr<DurableStorage>> Open(const std::string& directory,
                                                      const LogStoreOptions& options = {});

  // --- Storage: loop thread, memory only ---
  Result<InitialState> GetInitialState() const override { return memory_.GetInitialState(); }
  Result<std::vector<Entry>> Entries(Index lo, Index hi, uint64_t bytes_max) const override {
    return memory_.Entries(lo, hi, bytes_max);
  }
  Result<Term> TermAt(Index i) const override { return memory_.TermAt(i); }
  Index FirstIndex() const override { return memory_.FirstIndex(); }
  Index LastIndex() const override { return memory_.LastIndex(); }
  Result<Snapshot> GetSnapshot() const override { return memory_.GetSnapshot(); }
  const HardState& GetHardState() const { return memory_.GetHardState(); }

  // --- storage thread: disk only ---
  // Writes one Ready's durable part as one synced batch.
  Status Persist(const SaveRequest& request) { return store_->Save(request); }
  // Records a snapshot taken by the host's state machine and drops the log it covers from disk,
  // except the trailing window that ApplyCompaction keeps in memory (so it is still there after
  // a restart), with `hard_state` in the same batch if given. kFailedPrecondition (and nothing
  // written) if a newer snapshot is already stored.
  Status PersistCompaction(const Snapshot& snapshot, uint64_t trailing_entries,
                           const std::optional<HardState>& hard_state = {}) {
    return store_->Save(SaveRequest{snapshot, {}, hard_state, trailing_entries});
  }

  // --- loop thread, after the matching Persist* returned OK ---
  // Mirrors a persisted Ready: a snapshot replaces the log, entries replace any suffix from
  // their first index, then the hard state.
  Status ApplyPersisted(const SaveRequest& request);
  // Mirrors a persisted compaction, keeping `trailing_entries` before the snapshot in memory so
  // a follower that is only slightly behind gets entries rather than the snapshot. Ignored if a
  // newer snapshot was installed meanwhile.
  Status ApplyCompaction(const Snapshot& snapshot, uint64_t trailing_entries);

  // --- startup, before any thread runs ---
  // True if nothing was ever written: a new replica.
  bool IsNew() const { return LastIndex() == Index(0) && GetHardState() == HardState{}; }
  // A founding member's first state, written synced: a snapshot at index 1, term 1 holding the
  // initial voters and the state machine's empty image `data`, and a hard state committing it.
  Status Bootstrap(const Configuration& configuration, std::string data);

 private:
  explicit DurableStorage(std::unique_ptr<LogStore> store) : store_(std::move(store)) {}
  Status Load();
  Status LoadWindow(const Snapshot& snapshot, std::vector<Entry> entries);

  std::unique_ptr<LogStore> store_;
  MemoryStorage memory_;
};

}  // namespace cairn::raft
