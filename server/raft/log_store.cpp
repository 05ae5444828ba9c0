#include "server/raft/log_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "catalog/rocksdb_status.h"
#include "common/codec.h"
#include "common/sealed_record.h"

namespace cairn::raft {
namespace {

// Key layout: entries under 'e' + big-endian index (so they sort by index); the two stable
// records under 's/'.
constexpr char kEntryPrefix = 'e';
const std::string kHardStateKey = "s/hard_state";
const std::string kSnapshotKey = "s/snapshot";
// The state machine image of the snapshot under kSnapshotKey, with the index it belongs to. It
// is always written or deleted in the same batch as the metadata, so the two never disagree.
const std::string kSnapshotDataKey = "s/snapshot_data";

std::string EntryKey(Index index) {
  std::string key(1, kEntryPrefix);
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((index.value >> shift) & 0xFF));
  return key;
}

// Appends a CRC-32C over key and body, so a value moved under another key is caught too.
std::string EncodeEntry(const Entry& entry) {
  Encoder e;
  e.PutVarint64(entry.term.value);
  e.PutU8(static_cast<uint8_t>(entry.type));
  e.PutBytes(entry.data);
  return SealRecord(EntryKey(entry.index), e.Take());
}

Result<Entry> DecodeEntry(Index index, std::string_view value) {
  const std::string what = "log entry " + std::to_string(index.value);
  CAIRN_ASSIGN_OR_RETURN(std::string_view body, UnsealRecord(EntryKey(index), value, what));
  Decoder d(body, what);
  Entry entry;
  entry.index = index;
  entry.term = Term(d.ReadVarint64());
  const uint8_t type = d.ReadU8();
  if (type > static_cast<uint8_t>(EntryType::kConfigChange)) d.Fail("unknown entry type " + std::to_string(type));
  entry.type = static_cast<EntryType>(type);
  entry.data = std::string(d.ReadBytes(SIZE_MAX));
  CAIRN_RETURN_IF_ERROR(d.Finish());
  return entry;
}

std::string EncodeHardState(const HardState& hs) {
  Encoder e;
  e.PutVarint64(hs.term.value);
  e.PutVarint64(hs.vote.value);
  e.PutVarint64(hs.commit.value);
  return SealRecord(kHardStateKey, e.Take());
}

void PutNodeIds(Encoder& e, const std::vector<NodeId>& ids) {
  e.PutVarint64(ids.size());
  for (NodeId id : ids) e.PutVarint64(id.value);
}

std::vector<NodeId> ReadNodeIds(Decoder& d) {
  const uint64_t count = d.ReadVarint64();
  if (count > d.Remaining()) d.Fail("node id count " + std::to_string(count) + " exceeds the record");
  std::vector<NodeId> ids;
  for (uint64_t i = 0; i < count && !d.HasError(); ++i) ids.emplace_back(d.ReadVarint64());
  return ids;
}

std::string EncodeSnapshotMeta(const SnapshotMeta& meta) {
  Encoder e;
  e.PutVarint64(meta.index.value);
  e.PutVarint64(meta.term.value);
  PutNodeIds(e, meta.configuration.voters);
  PutNodeIds(e, meta.configuration.learners);
  return SealRecord(kSnapshotKey, e.Take());
}

std::string EncodeSnapshotData(Index index, std::string_view data) {
  Encoder e;
  e.PutVarint64(index.value);
  e.PutBytes(data);
  return SealRecord(kSnapshotDataKey, e.Take());
}

}  // namespace

Result<std::unique_ptr<LogStore>> LogStore::Open(const std::string& directory, const LogStoreOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenRocksDb(directory, "raft log store"));
  std::unique_ptr<LogStore> store(new LogStore(std::move(db), options));
  Status recovered = store->Recover();
  if (!recovered.IsOk()) return recovered.WithContext("raft log store in " + directory + " is unusable");
  return store;
}

LogStore::LogStore(std::unique_ptr<rocksdb::DB> db, const LogStoreOptions& options)
    : db_(std::move(db)), options_(options) {}

LogStore::~LogStore() = default;

Status LogStore::Recover() {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kSnapshotKey, &value);
  if (s.ok()) {
    CAIRN_ASSIGN_OR_RETURN(std::string_view body, UnsealRecord(kSnapshotKey, value, "snapshot metadata"));
    Decoder d(body, "snapshot metadata");
    SnapshotMeta meta;
    meta.index = Index(d.ReadVarint64());
    meta.term = Term(d.ReadVarint64());
    meta.configuration.voters = ReadNodeIds(d);
    meta.configuration.learners = ReadNodeIds(d);
    CAIRN_RETURN_IF_ERROR(d.Finish());
    snapshot_ = meta;
    first_index_ = meta.index.Next();
    last_index_ = meta.index;
    last_term_ = meta.term;
  } else if (!s.IsNotFound()) {
    return StatusFromRocks(s, "reading snapshot metadata");
  }

  s = db_->Get(rocksdb::ReadOptions(), kHardStateKey, &value);
  if (s.ok()) {
    CAIRN_ASSIGN_OR_RETURN(std::string_view body, UnsealRecord(kHardStateKey, value, "hard state"));
    Decoder d(body, "hard state");
    hard_state_.term = Term(d.ReadVarint64());
    hard_state_.vote = NodeId(d.ReadVarint64());
    hard_state_.commit = Index(d.ReadVarint64());
    CAIRN_RETURN_IF_ERROR(d.Finish());
  } else if (!s.IsNotFound()) {
    return StatusFromRocks(s, "reading hard state");
  }

  CAIRN_RETURN_IF_ERROR(RecoverEntries());
  if (hard_state_.commit > last_index_) {
    return Status::Corruption("hard state commit index " + std::to_string(hard_state_.commit.value) +
                              " is past the last stored entry " + std::to_string(last_index_.value));
  }
  if (last_term_ > hard_state_.term) {
    return Status::Corruption("log holds term " + std::to_string(last_term_.value) + " but hard state term is " +
                              std::to_string(hard_state_.term.value));
  }
  return OkStatus();
}

// Walks every entry: checksums, no gaps, terms never decreasing, and a log that continues the
// snapshot (a trailing window before it must agree with it on the snapshot's term).
Status LogStore::RecoverEntries() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kEntryPrefix);
  bool first = true;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 9)
      return Status::Corruption("log key of unexpected length " + std::to_string(it->key().size()));
    uint64_t raw_index = 0;
    for (size_t i = 1; i < 9; ++i) raw_index = (raw_index << 8) | static_cast<uint8_t>(it->key()[i]);
    const Index index(raw_index);
    CAIRN_ASSIGN_OR_RETURN(Entry entry, DecodeEntry(index, it->value().ToStringView()));
    if (first) {
      CAIRN_RETURN_IF_ERROR(CheckFirstEntry(index));
      first_index_ = index;
      last_term_ = Term(0);  // a trailing window starts below the snapshot's term
    } else if (index != last_index_.Next()) {
      return Status::Corruption("log has a gap: entry " + std::to_string(index.value) + " follows " +
                                std::to_string(last_index_.value));
    }
    if (entry.term < last_term_) {
      return Status::Corruption("log entry " + std::to_string(index.value) + " has term " +
                                std::to_string(entry.term.value) + ", lower than the entry before it");
    }
    if (snapshot_ && index == snapshot_->index && entry.term != snapshot_->term) {
      return Status::Corruption("log entry " + std::to_string(index.value) + " has term " +
                                std::to_string(entry.term.value) + " but the snapshot there has term " +
                                std::to_string(snapshot_->term.value));
    }
    last_index_ = index;
    last_term_ = entry.term;
    first = false;
  }
  if (first && !snapshot_) {
    first_index_ = Index(1);
    last_index_ = Index(0);
  }
  if (!first && snapshot_ && last_index_ < snapshot_->index) {
    return Status::Corruption("log ends at " + std::to_string(last_index_.value) + ", before snapshot " +
                              std::to_string(snapshot_->index.value));
  }
  return StatusFromRocks(it->status(), "scanning the log");
}

Status LogStore::CheckFirstEntry(Index index) const {
  if (snapshot_ && index > snapshot_->index.Next()) {
    return Status::Corruption("first log entry " + std::to_string(index.value) + " does not follow snapshot " +
                              std::to_string(snapshot_->index.value));
  }
  return OkStatus();
}

Result<Term> LogStore::TermAt(Index index) const {
  if (snapshot_ && index == snapshot_->index && !(first_index_ <= index && index <= last_index_)) {
    return snapshot_->term;
  }
  if (!snapshot_ && index == first_index_.Prev()) return Term(0);
  if (index < first_index_ || index > last_index_) {
    return Status::NotFound("log entry " + std::to_string(index.value) + " is outside [" +
                            std::to_string(first_index_.value) + ", " + std::to_string(last_index_.value) + "]");
  }
  CAIRN_ASSIGN_OR_RETURN(std::vector<Entry> one, Entries(index, index.Next(), 0));
  return one.front().term;
}

Result<std::vector<Entry>> LogStore::Entries(Index low, Index high, size_t bytes_max) const {
  CAIRN_ASSERT(first_index_ <= low && low <= high && high <= last_index_.Next(),
               "LogStore::Entries range out of bounds");
  std::vector<Entry> entries;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  size_t bytes = 0;
  Index expected = low;
  for (it->Seek(EntryKey(low)); expected < high; it->Next(), expected = expected.Next()) {
    if (!it->Valid() || it->key() != EntryKey(expected)) {
      CAIRN_RETURN_IF_ERROR(StatusFromRocks(it->status(), "reading the log"));
      return Status::Corruption("log entry " + std::to_string(expected.value) + " is missing");
    }
    CAIRN_ASSIGN_OR_RETURN(Entry entry, DecodeEntry(expected, it->value().ToStringView()));
    bytes += entry.data.size();
    if (!entries.empty() && bytes > bytes_max) break;
    entries.push_back(std::move(entry));
  }
  return entries;
}

Status LogStore::Save(const std::optional<HardState>& hard_state, const std::vector<Entry>& entries) {
  return Save(SaveRequest{std::nullopt, entries, hard_state});
}

Status LogStore::Save(const SaveRequest& request) {
  rocksdb::WriteBatch batch;
  Bounds next = CurrentBounds();
  if (request.snapshot) {
    CAIRN_RETURN_IF_ERROR(
        AddSnapshot(batch, request.snapshot->meta, &request.snapshot->data, request.trailing_entries, next));
  }
  AddEntries(batch, request.entries, next);
  if (request.hard_state) batch.Put(kHardStateKey, EncodeHardState(*request.hard_state));
  CAIRN_RETURN_IF_ERROR(Write(batch, "writing the raft log"));
  first_index_ = next.first_index;
  last_index_ = next.last_index;
  last_term_ = next.last_term;
  snapshot_ = next.snapshot;
  if (request.hard_state) hard_state_ = *request.hard_state;
  return OkStatus();
}

void LogStore::AddEntries(rocksdb::WriteBatch& batch, const std::vector<Entry>& entries, Bounds& bounds) const {
  if (entries.empty()) return;
  const Index from = entries.front().index;
  const Index snapshot_index = bounds.snapshot ? bounds.snapshot->index : Index(0);
  CAIRN_ASSERT(bounds.first_index <= from && snapshot_index < from && from <= bounds.last_index.Next(),
               "Save would leave a gap or rewrite a snapshot");
  for (size_t i = 0; i < entries.size(); ++i) {
    CAIRN_ASSERT(entries[i].index == Index(from.value + i), "Save needs contiguous entries");
    batch.Put(EntryKey(entries[i].index), EncodeEntry(entries[i]));
  }
  // A conflicting suffix longer than the new entries must not survive behind them.
  for (Index i = entries.back().index.Next(); i <= bounds.last_index; i = i.Next()) batch.Delete(EntryKey(i));
  bounds.last_index = entries.back().index;
  bounds.last_term = entries.back().term;
}

Status LogStore::AddSnapshot(rocksdb::WriteBatch& batch, const SnapshotMeta& meta, const std::string* data,
                             uint64_t trailing_entries, Bounds& bounds) const {
  // TermAt reads the stored log, so a snapshot must be the first step of a batch.
  CAIRN_ASSERT(bounds.last_index == last_index_ && bounds.first_index == first_index_,
               "a snapshot must come first in a save");
  if (bounds.snapshot && meta.index <= bounds.snapshot->index) {
    return Status::FailedPrecondition("snapshot at " + std::to_string(meta.index.value) +
                                      " is not newer than the stored one at " +
                                      std::to_string(bounds.snapshot->index.value));
  }
  batch.Put(kSnapshotKey, EncodeSnapshotMeta(meta));
  if (data != nullptr) {
    batch.Put(kSnapshotDataKey, EncodeSnapshotData(meta.index, *data));
  } else {
    batch.Delete(kSnapshotDataKey);
  }
  // Keep the entries after the snapshot only if the log really continues it.
  const bool log_continues = meta.index <= bounds.last_index && TermAt(meta.index).ValueOr(Term(0)) == meta.term;
  // The trailing window, when the log continues the snapshot: see SaveRequest::trailing_entries.
  Index keep_from = meta.index.Next();
  if (log_continues && trailing_entries > 0) {
    const Index window_base(meta.index.value > trailing_entries ? meta.index.value - trailing_entries : 0);
    keep_from = std::max(bounds.first_index, window_base);
  }
  const Index drop_through = log_continues ? keep_from.Prev() : bounds.last_index;
  if (bounds.first_index <= drop_through) {
    batch.DeleteRange(EntryKey(bounds.first_index), EntryKey(drop_through.Next()));
  }
  bounds.snapshot = meta;
  bounds.first_index = keep_from;
  if (!log_continues) {
    bounds.last_index = meta.index;
    bounds.last_term = meta.term;
  }
  return OkStatus();
}

Status LogStore::Write(rocksdb::WriteBatch& batch, std::string_view doing) {
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  return StatusFromRocks(db_->Write(write_options, &batch), doing);
}

Status LogStore::SaveSnapshot(const SnapshotMeta& meta) {
  rocksdb::WriteBatch batch;
  Bounds next = CurrentBounds();
  CAIRN_RETURN_IF_ERROR(AddSnapshot(batch, meta, nullptr, 0, next));
  CAIRN_RETURN_IF_ERROR(Write(batch, "writing snapshot metadata"));
  first_index_ = next.first_index;
  last_index_ = next.last_index;
  last_term_ = next.last_term;
  snapshot_ = next.snapshot;
  return OkStatus();
}

Result<std::optional<Snapshot>> LogStore::LoadSnapshot() const {
  if (!snapshot_) return std::optional<Snapshot>();
  Snapshot snapshot{*snapshot_, {}};
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kSnapshotDataKey, &value);
  if (s.IsNotFound()) return std::optional<Snapshot>(std::move(snapshot));
  CAIRN_RETURN_IF_ERROR(StatusFromRocks(s, "reading snapshot data"));
  CAIRN_ASSIGN_OR_RETURN(std::string_view body, UnsealRecord(kSnapshotDataKey, value, "snapshot data"));
  Decoder d(body, "snapshot data");
  const Index index(d.ReadVarint64());
  snapshot.data = std::string(d.ReadBytes(SIZE_MAX));
  CAIRN_RETURN_IF_ERROR(d.Finish());
  if (index != snapshot_->index) {
    return Status::Corruption("snapshot data is for index " + std::to_string(index.value) + " but the metadata for " +
                              std::to_string(snapshot_->index.value));
  }
  return std::optional<Snapshot>(std::move(snapshot));
}

}  // namespace cairn::raft
