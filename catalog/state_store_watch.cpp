// The state store's in-memory side that needs no RocksDB: the applied and table indexes and
// the watches of blocking queries. Kept apart from state_store.cpp so that code which only reads
// the catalog (the HTTP endpoints, a client agent) links without the storage engine.
#include "catalog/state_store.h"
#include "catalog/tables.h"

namespace cairn::catalog {

RaftIndex StateStore::AppliedIndex() const { return tables_->applied; }
RaftIndex StateStore::TableIndex(Table table) const { return tables_->IndexOf(table); }

// ---- watches ------------------------------------------------------------------------------

std::vector<WatchTopic> StateStore::TopicsForKvGet(std::string_view key) {
  return {WatchTopic::ForKvKey(std::string(key))};
}

std::vector<WatchTopic> StateStore::TopicsForKvList(std::string_view prefix) {
  return {WatchTopic::ForKvPrefix(std::string(prefix))};
}

std::vector<WatchTopic> StateStore::TopicsForTables(std::initializer_list<Table> tables) {
  std::vector<WatchTopic> topics;
  for (Table t : tables) topics.push_back(WatchTopic::ForTable(t));
  return topics;
}

std::vector<WatchTopic> StateStore::TopicsForService(std::string_view service) {
  return {WatchTopic::ForService(std::string(service))};
}

RaftIndex StateStore::TopicIndex(const WatchTopic& topic) const {
  switch (topic.kind) {
    case WatchTopic::Kind::kTable: return tables_->IndexOf(topic.table);
    case WatchTopic::Kind::kKvKey: return KvGet(topic.key).index;
    case WatchTopic::Kind::kKvPrefix: return KvPrefixIndex(topic.key);
    case WatchTopic::Kind::kService: return ServiceIndex(topic.key);
  }
  CAIRN_UNREACHABLE("unknown watch topic kind");
}

Result<std::optional<WatchId>> StateStore::Watch(const std::vector<WatchTopic>& topics, RaftIndex seen_index,
                                                 WatchCallback on_change) {
  for (const WatchTopic& topic : topics) {
    if (TopicIndex(topic) > seen_index) return std::optional<WatchId>();
  }
  CAIRN_ASSIGN_OR_RETURN(WatchId id, watches_.Add(topics, std::move(on_change)));
  return std::optional<WatchId>(id);
}

bool StateStore::CancelWatch(WatchId id) { return watches_.Cancel(id); }
size_t StateStore::WatcherCount() const { return watches_.Size(); }

}  // namespace cairn::catalog
