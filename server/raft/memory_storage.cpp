#include "server/raft/memory_storage.h"

#include "server/raft/messages.h"

namespace cairn::raft {

MemoryStorage::MemoryStorage() { entries_.push_back(Entry{}); }

Result<InitialState> MemoryStorage::GetInitialState() const { return InitialState{hard_state_, snapshot_.meta}; }

Index MemoryStorage::FirstIndex() const { return entries_.front().index.Next(); }
Index MemoryStorage::LastIndex() const { return Index(entries_.front().index.value + entries_.size() - 1); }

Result<Term> MemoryStorage::TermAt(Index i) const {
  const Index base = entries_.front().index;
  if (i < base) return CompactedError();
  if (i > LastIndex()) return UnavailableEntryError();
  return entries_[i.value - base.value].term;
}

Result<std::vector<Entry>> MemoryStorage::Entries(Index lo, Index hi, uint64_t bytes_max) const {
  const Index base = entries_.front().index;
  if (lo <= base) return CompactedError();
  if (hi > LastIndex().Next()) return UnavailableEntryError();
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo.value; i < hi.value; ++i) {
    const Entry& e = entries_[i - base.value];
    bytes += EntryBytes(e);
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(e);
  }
  return out;
}

Result<Snapshot> MemoryStorage::GetSnapshot() const { return snapshot_; }

Status MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return OkStatus();
  const Index base = entries_.front().index;
  if (entries.front().index > LastIndex().Next()) return Status::InvalidArgument("raft storage: append leaves a gap");
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index != entries[i - 1].index.Next())
      return Status::InvalidArgument("raft storage: non-contiguous append");
  }
  size_t skip = 0;
  // Entries already covered by the snapshot are committed and identical; skip them.
  while (skip < entries.size() && entries[skip].index <= base) ++skip;
  if (skip == entries.size()) return OkStatus();
  entries_.resize(entries[skip].index.value - base.value);
  entries_.insert(entries_.end(), entries.begin() + static_cast<long>(skip), entries.end());
  return OkStatus();
}

Status MemoryStorage::ApplySnapshot(const Snapshot& snapshot) {
  if (snapshot.meta.index <= snapshot_.meta.index) return OkStatus();
  snapshot_ = snapshot;
  entries_.clear();
  entries_.push_back(Entry{snapshot.meta.term, snapshot.meta.index, EntryType::kNormal, {}});
  return OkStatus();
}

Status PersistReady(WritableStorage& storage, const std::optional<Snapshot>& snapshot,
                    const std::vector<Entry>& entries, const std::optional<HardState>& hard_state) {
  if (snapshot) CAIRN_RETURN_IF_ERROR(storage.ApplySnapshot(*snapshot));
  CAIRN_RETURN_IF_ERROR(storage.Append(entries));
  if (hard_state) CAIRN_RETURN_IF_ERROR(storage.SetHardState(*hard_state));
  return storage.Sync();
}

Status MemoryStorage::CreateSnapshot(Index index, const Configuration& config, std::string data) {
  if (index <= snapshot_.meta.index) return Status::FailedPrecondition("snapshot is not newer");
  if (index > LastIndex()) return Status::InvalidArgument("snapshot index beyond the log");
  Result<Term> term = TermAt(index);
  if (!term.IsOk()) return term.GetStatus();
  snapshot_.meta = SnapshotMeta{index, *term, config};
  snapshot_.data = std::move(data);
  return OkStatus();
}

Status MemoryStorage::Compact(Index index) {
  const Index base = entries_.front().index;
  if (index <= base) return OkStatus();
  if (index > LastIndex()) return Status::InvalidArgument("compaction beyond the log");
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(index.value - base.value));
  entries_.front().data.clear();
  entries_.front().type = EntryType::kNormal;
  return OkStatus();
}

}  // namespace cairn::raft
