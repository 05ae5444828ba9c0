#include "catalog/mutation.h"

#include "catalog/records.h"

namespace cairn::catalog {

Mutation::Mutation(Tables& tables, rocksdb::WriteBatch& batch, RaftIndex index, int64_t now_millis)
    : tables_(tables),
      index_(index),
      now_millis_(now_millis),
      saved_table_index_(tables.table_index),
      saved_applied_(tables.applied),
      batch_(batch) {
  CAIRN_ASSERT(index > tables.applied, "a command must carry an index past the applied one");
  batch_.SetSavePoint();
  save_point_set_ = true;
}

void Mutation::Touch(Table table) {
  changes_.Touch(table);
  tables_.IndexOf(table) = index_;
}

void Mutation::Put(const std::string& record_key, std::string body) {
  batch_.Put(record_key, Seal(record_key, std::move(body)));
}

void Mutation::Delete(const std::string& record_key) { batch_.Delete(record_key); }

namespace {

template <typename Map, typename Key>
auto Previous(const Map& map, const Key& key) -> std::optional<typename Map::mapped_type> {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace

void Mutation::TouchService(const std::string& name) {
  changes_.TouchService(name);
  const bool exists = tables_.services_by_name.contains(name);
  std::optional<RaftIndex> old = Previous(tables_.service_index, name);
  if (!exists && !old) return;
  undo_.push_back([this, name, old] { tables_.SetServiceIndex(name, old); });
  if (exists) {
    Put(ServiceIndexRecordKey(name), EncodeTombstone(index_));
    tables_.SetServiceIndex(name, index_);
  } else {
    Delete(ServiceIndexRecordKey(name));
    tables_.SetServiceIndex(name, std::nullopt);
  }
}

void Mutation::TouchServicesOnNode(const std::string& node) {
  std::set<std::string> names;
  for (auto it = tables_.services.lower_bound(NodeScoped(node, ""));
       it != tables_.services.end() && it->first.first == node; ++it) {
    names.insert(it->second.name);
  }
  for (const std::string& name : names) TouchService(name);
}

void Mutation::TouchServicesOfCheck(const Check& check) {
  if (check.service_name.empty()) {
    TouchServicesOnNode(check.node);
  } else {
    TouchService(check.service_name);
  }
}

void Mutation::PutNode(Node node) {
  const std::string name = node.name;
  undo_.push_back([this, name, old = Previous(tables_.nodes, name)] { tables_.SetNode(name, old); });
  Put(NodeRecordKey(name), EncodeNode(node));
  tables_.SetNode(name, std::move(node));
  Touch(Table::kNodes);
  TouchServicesOnNode(name);
}

void Mutation::EraseNode(const std::string& name) {
  undo_.push_back([this, name, old = Previous(tables_.nodes, name)] { tables_.SetNode(name, old); });
  Delete(NodeRecordKey(name));
  tables_.SetNode(name, std::nullopt);
  Touch(Table::kNodes);
  TouchServicesOnNode(name);
}

void Mutation::PutService(Service service) {
  const NodeScoped key(service.node, service.id);
  std::optional<Service> old = Previous(tables_.services, key);
  undo_.push_back([this, key, old] { tables_.SetService(key, old); });
  Put(ServiceRecordKey(key), EncodeService(service));
  const std::string name = service.name;
  tables_.SetService(key, std::move(service));
  Touch(Table::kServices);
  if (old && old->name != name) TouchService(old->name);
  TouchService(name);
}

void Mutation::EraseService(const NodeScoped& key) {
  std::optional<Service> old = Previous(tables_.services, key);
  undo_.push_back([this, key, old] { tables_.SetService(key, old); });
  Delete(ServiceRecordKey(key));
  tables_.SetService(key, std::nullopt);
  Touch(Table::kServices);
  if (old) TouchService(old->name);
}

void Mutation::PutCheck(Check check) {
  const NodeScoped key(check.node, check.check_id);
  std::optional<Check> old = Previous(tables_.checks, key);
  undo_.push_back([this, key, old] { tables_.SetCheck(key, old); });
  Put(CheckRecordKey(key), EncodeCheck(check));
  if (old && old->service_name != check.service_name) TouchServicesOfCheck(*old);
  TouchServicesOfCheck(check);
  tables_.SetCheck(key, std::move(check));
  Touch(Table::kChecks);
}

void Mutation::EraseCheck(const NodeScoped& key) {
  std::optional<Check> old = Previous(tables_.checks, key);
  undo_.push_back([this, key, old] { tables_.SetCheck(key, old); });
  Delete(CheckRecordKey(key));
  tables_.SetCheck(key, std::nullopt);
  Touch(Table::kChecks);
  if (old) TouchServicesOfCheck(*old);
}

void Mutation::PutKv(KvEntry entry) {
  const std::string key = entry.key;
  if (tables_.tombstones.contains(key)) EraseTombstone(key);
  undo_.push_back([this, key, old = Previous(tables_.kv, key)] { tables_.SetKv(key, old); });
  Put(KvRecordKey(key), EncodeKv(entry));
  tables_.SetKv(key, std::move(entry));
  Touch(Table::kKv);
  changes_.TouchKv(key);
}

void Mutation::EraseKv(const std::string& key) {
  undo_.push_back([this, key, old = Previous(tables_.kv, key)] { tables_.SetKv(key, old); });
  undo_.push_back([this, key, old = Previous(tables_.tombstones, key)] { tables_.SetTombstone(key, old); });
  Delete(KvRecordKey(key));
  Put(TombstoneRecordKey(key), EncodeTombstone(index_));
  tables_.SetKv(key, std::nullopt);
  tables_.SetTombstone(key, index_);
  Touch(Table::kKv);
  changes_.TouchKv(key);
}

// Tombstones only exist to move indexes forward; dropping one is not a change anyone watches.
void Mutation::EraseTombstone(const std::string& key) {
  undo_.push_back([this, key, old = Previous(tables_.tombstones, key)] { tables_.SetTombstone(key, old); });
  Delete(TombstoneRecordKey(key));
  tables_.SetTombstone(key, std::nullopt);
}

void Mutation::PutSession(Session session) {
  const std::string id = session.id;
  undo_.push_back([this, id, old = Previous(tables_.sessions, id)] { tables_.SetSession(id, old); });
  Put(SessionRecordKey(id), EncodeSession(session));
  tables_.SetSession(id, std::move(session));
  Touch(Table::kSessions);
}

void Mutation::EraseSession(const std::string& id) {
  undo_.push_back([this, id, old = Previous(tables_.sessions, id)] { tables_.SetSession(id, old); });
  Delete(SessionRecordKey(id));
  tables_.SetSession(id, std::nullopt);
  Touch(Table::kSessions);
}

void Mutation::PutLockDelay(const std::string& key, int64_t until_millis) {
  undo_.push_back([this, key, old = Previous(tables_.lock_delays, key)] { tables_.SetLockDelay(key, old); });
  Put(LockDelayRecordKey(key), EncodeLockDelay(until_millis));
  tables_.SetLockDelay(key, until_millis);
}

void Mutation::EraseLockDelay(const std::string& key) {
  undo_.push_back([this, key, old = Previous(tables_.lock_delays, key)] { tables_.SetLockDelay(key, old); });
  Delete(LockDelayRecordKey(key));
  tables_.SetLockDelay(key, std::nullopt);
}

void Mutation::Rollback() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  undo_.clear();
  tables_.table_index = saved_table_index_;
  tables_.applied = saved_applied_;
  changes_ = ChangeSet();
  if (!save_point_set_) return;
  save_point_set_ = false;
  const rocksdb::Status s = batch_.RollbackToSavePoint();
  CAIRN_ASSERT(s.ok(), "catalog batch lost the save point of command " + std::to_string(index_.value));
}

void Mutation::Finish() {
  tables_.applied = index_;
  if (!save_point_set_) return;
  save_point_set_ = false;
  const rocksdb::Status s = batch_.PopSavePoint();
  CAIRN_ASSERT(s.ok(), "catalog batch lost the save point of command " + std::to_string(index_.value));
}

}  // namespace cairn::catalog
