#include "server/raft/durable_storage.h"

#include <cstdint>

namespace cairn::raft {

Result<std::unique_ptr<DurableStorage>> DurableStorage::Open(const std::string& directory,
                                                             const LogStoreOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<LogStore> store, LogStore::Open(directory, options));
  std::unique_ptr<DurableStorage> storage(new DurableStorage(std::move(store)));
  Status loaded = storage->Load();
  if (!loaded.IsOk()) return loaded.WithContext("raft log store in " + directory + " cannot be loaded");
  return storage;
}

Status DurableStorage::Load() {
  CAIRN_ASSIGN_OR_RETURN(std::optional<Snapshot> snapshot, store_->LoadSnapshot());
  std::vector<Entry> entries;
  if (store_->FirstIndex() <= store_->LastIndex()) {
    CAIRN_ASSIGN_OR_RETURN(entries, store_->Entries(store_->FirstIndex(), store_->LastIndex().Next(), SIZE_MAX));
  }
  if (snapshot && !entries.empty() && entries.front().index < snapshot->meta.index) {
    CAIRN_RETURN_IF_ERROR(LoadWindow(*snapshot, std::move(entries)));
  } else {
    if (snapshot) CAIRN_RETURN_IF_ERROR(memory_.ApplySnapshot(*snapshot));
    CAIRN_RETURN_IF_ERROR(memory_.Append(entries));
  }
  CAIRN_ASSERT(memory_.LastIndex() == store_->LastIndex(), "memory view and log store disagree after loading");
  return memory_.SetHardState(store_->GetHardState());
}

// The stored log starts with a trailing window before the snapshot: its first entry becomes the
// memory view's base (as after ApplyCompaction), the rest follow, then the snapshot is recorded
// over them.
Status DurableStorage::LoadWindow(const Snapshot& snapshot, std::vector<Entry> entries) {
  const Entry& base = entries.front();
  CAIRN_RETURN_IF_ERROR(memory_.ApplySnapshot(Snapshot{SnapshotMeta{base.index, base.term, {}}, {}}));
  CAIRN_RETURN_IF_ERROR(memory_.Append(std::vector<Entry>(entries.begin() + 1, entries.end())));
  return memory_.CreateSnapshot(snapshot.meta.index, snapshot.meta.configuration, snapshot.data);
}

Status DurableStorage::Bootstrap(const Configuration& configuration, std::string data) {
  CAIRN_ASSERT(IsNew(), "bootstrapping a replica that already has state");
  SaveRequest request;
  request.snapshot = Snapshot{SnapshotMeta{Index(1), Term(1), configuration}, std::move(data)};
  request.hard_state = HardState{Term(1), kNoNode, Index(1)};
  CAIRN_RETURN_IF_ERROR(Persist(request));
  return ApplyPersisted(request);
}

Status DurableStorage::ApplyPersisted(const SaveRequest& request) {
  if (request.snapshot) CAIRN_RETURN_IF_ERROR(memory_.ApplySnapshot(*request.snapshot));
  CAIRN_RETURN_IF_ERROR(memory_.Append(request.entries));
  if (request.hard_state) CAIRN_RETURN_IF_ERROR(memory_.SetHardState(*request.hard_state));
  return OkStatus();
}

Status DurableStorage::ApplyCompaction(const Snapshot& snapshot, uint64_t trailing_entries) {
  CAIRN_ASSIGN_OR_RETURN(Snapshot current, memory_.GetSnapshot());
  if (snapshot.meta.index <= current.meta.index) return OkStatus();
  Result<Term> term = memory_.TermAt(snapshot.meta.index);
  if (!term.IsOk() || *term != snapshot.meta.term) {
    // The log in memory no longer continues this snapshot (a leader's snapshot replaced it
    // meanwhile); the disk dropped what it covers, and memory has nothing left to drop.
    return OkStatus();
  }
  CAIRN_RETURN_IF_ERROR(memory_.CreateSnapshot(snapshot.meta.index, snapshot.meta.configuration, snapshot.data));
  const uint64_t keep_from =
      snapshot.meta.index.value > trailing_entries ? snapshot.meta.index.value - trailing_entries : 0;
  return memory_.Compact(Index(keep_from));
}

}  // namespace cairn::raft
