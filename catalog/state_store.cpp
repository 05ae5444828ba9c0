#include "catalog/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstdio>

#include "catalog/ops.h"
#include "catalog/records.h"
#include "catalog/rocksdb_status.h"
#include "common/codec.h"
#include "common/crc32c.h"

namespace cairn::catalog {
namespace {

constexpr std::string_view kSnapshotMagic = "CAIRNCAT";
constexpr uint8_t kSnapshotVersion = 1;
constexpr size_t kRecordBytesMax = 64 * 1024 * 1024;

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& directory, const StoreOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> db, OpenRocksDb(directory, "catalog store"));
  std::unique_ptr<StateStore> store(new StateStore(std::move(db), options));
  Status recovered = store->Recover();
  if (!recovered.IsOk()) return recovered.WithContext("catalog store in " + directory + " is unusable");
  return store;
}

StateStore::StateStore(std::unique_ptr<rocksdb::DB> db, const StoreOptions& options)
    : db_(std::move(db)),
      options_(options),
      tables_(std::make_unique<Tables>()),
      watches_(options.watchers_max),
      group_batch_(std::make_unique<rocksdb::WriteBatch>()) {}

StateStore::~StateStore() {
  if (!group_open_) return;
  // Best effort, with nobody left to tell but stderr: a failed write here loses nothing the
  // Raft log does not hold, and the next Open resumes after the last written command.
  Status flushed = FlushGroup();
  if (!flushed.IsOk()) std::fprintf(stderr, "catalog store closed unwritten: %s\n", flushed.ToString().c_str());
}

// Loads every record, checking each checksum, then the cross-table invariants.
Status StateStore::Recover() {
  auto tables = std::make_unique<Tables>();
  bool saw_meta = false;
  size_t records = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    CAIRN_ASSIGN_OR_RETURN(std::string_view body, Unseal(key, it->value().ToStringView()));
    CAIRN_RETURN_IF_ERROR(LoadRecord(*tables, key, body));
    saw_meta = saw_meta || key == kMetaRecordKey;
    ++records;
  }
  CAIRN_RETURN_IF_ERROR(StatusFromRocks(it->status(), "scanning the catalog"));
  if (records > 0 && !saw_meta) return Status::Corruption("catalog has records but no meta record");
  CAIRN_RETURN_IF_ERROR(tables->Validate());
  tables_ = std::move(tables);
  written_applied_ = tables_->applied;
  return OkStatus();
}

Result<Outcome> StateStore::Apply(RaftIndex index, int64_t now_millis, const std::function<Outcome(Mutation&)>& body) {
  CAIRN_RETURN_IF_ERROR(broken_);
  if (index <= tables_->applied) {
    return Status::FailedPrecondition("command index " + std::to_string(index.value) +
                                      " does not follow the applied index " + std::to_string(tables_->applied.value));
  }
  rocksdb::WriteBatch single;
  Mutation mutation(*tables_, group_open_ ? *group_batch_ : single, index, now_millis);
  Outcome outcome = body(mutation);
  if (!outcome.Ok()) mutation.Rollback();
  mutation.Finish();
  if (!group_open_) {
    Status written = WriteWithMeta(single);
    if (!written.IsOk()) {
      mutation.Rollback();
      return written.WithContext("catalog command " + std::to_string(index.value));
    }
  }
  // Callbacks run last, when reads already see the change.
  for (WatchCallback& callback : watches_.TakeWoken(mutation.Changes())) callback();
  return outcome;
}

Status StateStore::WriteWithMeta(rocksdb::WriteBatch& batch) {
  batch.Put(kMetaRecordKey, Seal(kMetaRecordKey, EncodeMeta(*tables_)));
  CAIRN_RETURN_IF_ERROR(WriteToDb(batch));
  written_applied_ = tables_->applied;
  return OkStatus();
}

Status StateStore::WriteToDb(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  return StatusFromRocks(db_->Write(write_options, &batch), "writing the catalog");
}

void StateStore::BeginGroup() {
  CAIRN_ASSERT(!group_open_, "a group of catalog commands is already open");
  group_open_ = true;
}

Status StateStore::CommitGroup() {
  CAIRN_ASSERT(group_open_, "no group of catalog commands is open");
  Status written = FlushGroup();
  group_open_ = false;
  return written;
}

Status StateStore::FlushGroup() {
  CAIRN_RETURN_IF_ERROR(broken_);
  if (!group_open_ || written_applied_ == tables_->applied) return OkStatus();
  const std::string span = std::to_string(written_applied_.value + 1) + ".." + std::to_string(tables_->applied.value);
  Status written = WriteWithMeta(*group_batch_);
  group_batch_->Clear();
  if (written.IsOk()) return OkStatus();
  // The group's commands cannot be taken back from memory (nor their results and watch
  // callbacks), so memory stays ahead of disk until the store is reopened.
  broken_ = written.WithContext("catalog commands " + span + " are applied in memory but not written (the store " +
                                "refuses further changes; reopen it)");
  return broken_;
}

Status StateStore::AdvanceApplied(RaftIndex index) {
  return Apply(index, 0, [](Mutation&) { return Outcome::Success(); }).GetStatus();
}

Result<Outcome> StateStore::ApplyKv(RaftIndex index, int64_t now_millis, const KvOp& op) {
  return Apply(index, now_millis, [&op](Mutation& m) { return ops::KvWrite(m, op); });
}

Result<Outcome> StateStore::ReapTombstones(RaftIndex index, int64_t now_millis, RaftIndex up_to) {
  return Apply(index, now_millis, [up_to](Mutation& m) { return ops::ReapTombstones(m, up_to); });
}

Result<Outcome> StateStore::SessionCreate(RaftIndex index, Session session) {
  return Apply(index, 0, [&session](Mutation& m) { return ops::SessionCreate(m, std::move(session)); });
}

Result<Outcome> StateStore::SessionDestroy(RaftIndex index, int64_t now_millis, const std::string& id) {
  return Apply(index, now_millis, [&id](Mutation& m) { return ops::SessionInvalidate(m, id); });
}

Result<Outcome> StateStore::Register(RaftIndex index, int64_t now_millis, const Registration& registration) {
  return Apply(index, now_millis, [&registration](Mutation& m) {
    const std::string& node = registration.node.name;
    Outcome outcome = ops::NodeSet(m, registration.node);
    if (outcome.Ok() && registration.service) {
      if (!registration.service->node.empty() && registration.service->node != node) {
        return Outcome::Fail(OutcomeCode::kInvalidArgument, "service node does not match the registered node");
      }
      Service service = *registration.service;
      service.node = node;
      outcome = ops::ServiceSet(m, std::move(service));
    }
    for (size_t i = 0; i < registration.checks.size() && outcome.Ok(); ++i) {
      Check check = registration.checks[i];
      if (!check.node.empty() && check.node != node) {
        return Outcome::Fail(OutcomeCode::kInvalidArgument, "check node does not match the registered node");
      }
      check.node = node;
      outcome = ops::CheckSet(m, std::move(check));
    }
    return outcome;
  });
}

Result<TxnResult> StateStore::Txn(RaftIndex index, int64_t now_millis, const std::vector<TxnOp>& ops) {
  TxnResult result;
  auto applied = Apply(index, now_millis, [&](Mutation& m) { return ops::Txn(m, ops, result); });
  if (!applied.IsOk()) return applied.GetStatus();
  return result;
}

Result<Outcome> StateStore::DeregisterNode(RaftIndex index, int64_t now_millis, const std::string& node) {
  return Apply(index, now_millis, [&node](Mutation& m) { return ops::NodeDelete(m, node); });
}

Result<Outcome> StateStore::DeregisterService(RaftIndex index, int64_t now_millis, const std::string& node,
                                              const std::string& service_id) {
  return Apply(index, now_millis, [&](Mutation& m) { return ops::ServiceDelete(m, node, service_id); });
}

Result<Outcome> StateStore::DeregisterCheck(RaftIndex index, int64_t now_millis, const std::string& node,
                                            const std::string& check_id) {
  return Apply(index, now_millis, [&](Mutation& m) { return ops::CheckDelete(m, node, check_id); });
}

// ---- snapshots ----------------------------------------------------------------------------

std::string StateStore::Snapshot() const {
  Encoder e;
  e.PutRaw(kSnapshotMagic);
  e.PutU8(kSnapshotVersion);
  Encoder records;
  uint64_t count = 0;
  ForEachRecord(*tables_, [&](const std::string& key, const std::string& body) {
    records.PutBytes(key);
    records.PutBytes(body);
    ++count;
  });
  e.PutVarint64(count);
  e.PutRaw(records.View());
  e.PutFixed32(Crc32c(e.View()));
  return e.Take();
}

namespace {

Result<std::unique_ptr<Tables>> DecodeSnapshot(std::string_view snapshot) {
  const size_t header = kSnapshotMagic.size() + 1;
  if (snapshot.size() < header + 4) return Status::Corruption("catalog snapshot is truncated");
  const std::string_view covered = snapshot.substr(0, snapshot.size() - 4);
  Decoder crc_reader(snapshot.substr(snapshot.size() - 4));
  if (crc_reader.ReadFixed32() != Crc32c(covered)) return Status::Corruption("catalog snapshot failed its checksum");
  Decoder d(covered, "catalog snapshot");
  if (d.ReadRaw(kSnapshotMagic.size()) != kSnapshotMagic) return Status::Corruption("not a catalog snapshot");
  const uint8_t version = d.ReadU8();
  if (version != kSnapshotVersion) {
    return Status::InvalidArgument("catalog snapshot version " + std::to_string(version) + " is not supported");
  }
  const uint64_t count = d.ReadVarint64();
  if (count > d.Remaining()) return Status::Corruption("catalog snapshot record count exceeds its size");
  auto tables = std::make_unique<Tables>();
  bool saw_meta = false;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string_view key = d.ReadBytes(kRecordBytesMax);
    const std::string_view body = d.ReadBytes(kRecordBytesMax);
    CAIRN_RETURN_IF_ERROR(d.Finish(false));
    CAIRN_RETURN_IF_ERROR(LoadRecord(*tables, key, body).WithContext("catalog snapshot"));
    saw_meta = saw_meta || key == kMetaRecordKey;
  }
  CAIRN_RETURN_IF_ERROR(d.Finish());
  if (!saw_meta) return Status::Corruption("catalog snapshot has no meta record");
  CAIRN_RETURN_IF_ERROR(tables->Validate().WithContext("catalog snapshot"));
  return tables;
}

}  // namespace

Result<RaftIndex> StateStore::SnapshotAppliedIndex(std::string_view snapshot) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Tables> tables, DecodeSnapshot(snapshot));
  return tables->applied;
}

Status StateStore::Restore(std::string_view snapshot) {
  CAIRN_RETURN_IF_ERROR(broken_);
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<Tables> tables, DecodeSnapshot(snapshot));
  CAIRN_RETURN_IF_ERROR(FlushGroup());
  rocksdb::WriteBatch batch;
  // Record keys are a table letter or "m", so this range covers every key the store writes.
  rocksdb::Status s = batch.DeleteRange(db_->DefaultColumnFamily(), std::string(1, '\0'), std::string(1, '\x7f'));
  CAIRN_RETURN_IF_ERROR(StatusFromRocks(s, "preparing catalog restore"));
  ForEachRecord(*tables,
                [&batch](const std::string& key, const std::string& body) { batch.Put(key, Seal(key, body)); });
  CAIRN_RETURN_IF_ERROR(WriteToDb(batch).WithContext("catalog restore"));
  tables_ = std::move(tables);
  written_applied_ = tables_->applied;
  for (WatchCallback& callback : watches_.TakeAll()) callback();
  return OkStatus();
}

}  // namespace cairn::catalog
