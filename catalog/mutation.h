// One command's changes in flight: each Put/Erase updates the in-memory tables at once (so
// later steps of the same command, or of a transaction, read their own writes), adds the
// record to a RocksDB WriteBatch, notes what watchers must hear about, and remembers how to
// undo itself. The batch may be shared by a group of commands (StateStore::BeginGroup), so a
// command's records sit behind a save point: a rollback removes exactly its own. The store,
// not the command, adds the meta record, once per write. Internal to catalog/.
#pragma once

#include <rocksdb/write_batch.h>

#include <functional>
#include <string>
#include <vector>

#include "catalog/tables.h"
#include "catalog/watch.h"

namespace cairn::catalog {

class Mutation {
 public:
  // Records go into `batch`, which must outlive the mutation and may already hold earlier
  // commands' records.
  Mutation(Tables& tables, rocksdb::WriteBatch& batch, RaftIndex index, int64_t now_millis);

  RaftIndex Index() const { return index_; }
  int64_t NowMillis() const { return now_millis_; }
  const Tables& View() const { return tables_; }

  void PutNode(Node node);
  void EraseNode(const std::string& name);
  void PutService(Service service);
  void EraseService(const NodeScoped& key);
  void PutCheck(Check check);
  void EraseCheck(const NodeScoped& key);
  // Writing a key clears its tombstone; erasing one leaves a tombstone at Index().
  void PutKv(KvEntry entry);
  void EraseKv(const std::string& key);
  void EraseTombstone(const std::string& key);
  void PutSession(Session session);
  void EraseSession(const std::string& id);
  void PutLockDelay(const std::string& key, int64_t until_millis);
  void EraseLockDelay(const std::string& key);

  // Puts the memory (applied index included) back as it was before the first change and,
  // unless Finish already ran, removes this command's records from the batch. After Finish
  // it serves a single command whose batch failed to write: the batch is then discarded.
  void Rollback();
  // Ends the command: records Index() as applied and keeps its records in the batch.
  void Finish();
  const ChangeSet& Changes() const { return changes_; }

 private:
  void Touch(Table table);
  // Moves the per-service index of `name` to Index() (or drops it when the service has no
  // instances left) and wakes the service's watchers.
  void TouchService(const std::string& name);
  void TouchServicesOnNode(const std::string& node);
  // A check belongs to its service; a node-level check to every service on the node.
  void TouchServicesOfCheck(const Check& check);
  void Put(const std::string& record_key, std::string body);
  void Delete(const std::string& record_key);

  Tables& tables_;
  RaftIndex index_;
  int64_t now_millis_;
  std::array<RaftIndex, kTableCount> saved_table_index_;
  RaftIndex saved_applied_;
  rocksdb::WriteBatch& batch_;
  bool save_point_set_ = false;  // this command's records can still be rolled back
  std::vector<std::function<void()>> undo_;
  ChangeSet changes_;
};

}  // namespace cairn::catalog
