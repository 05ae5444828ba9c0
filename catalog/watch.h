// Watch sets for blocking queries.
//
// A reader registers interest in exactly what it read: a whole table, one KV key, a KV prefix,
// or one service by name (its instances, their nodes and all their checks). A watcher fires once, on the first
// committed change that touches any of its topics, and is then gone; the caller re-reads and, if it still wants to
// block, registers again. Watchers are callbacks, not threads: the HTTP layer turns a callback into a wake-up of its
// own kind. The number of live watchers is bounded (limits::kWatchersMax).
//
// Not thread-safe: the hub lives inside the store and is used from the store's thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace cairn::catalog {

enum class Table : uint8_t { kNodes = 0, kServices, kChecks, kKv, kSessions };
inline constexpr size_t kTableCount = 5;

struct WatchTopic {
  enum class Kind : uint8_t { kTable, kKvKey, kKvPrefix, kService };
  Kind kind = Kind::kTable;
  Table table = Table::kKv;  // for kTable
  std::string key;           // the key, prefix or service name for the other kinds

  static WatchTopic ForTable(Table t) { return {Kind::kTable, t, {}}; }
  static WatchTopic ForKvKey(std::string k) { return {Kind::kKvKey, Table::kKv, std::move(k)}; }
  static WatchTopic ForKvPrefix(std::string p) { return {Kind::kKvPrefix, Table::kKv, std::move(p)}; }
  static WatchTopic ForService(std::string name) { return {Kind::kService, Table::kServices, std::move(name)}; }
};

// What one committed command changed, for waking watchers.
struct ChangeSet {
  std::array<bool, kTableCount> tables{};
  std::set<std::string> kv_keys;
  std::set<std::string> service_names;

  void Touch(Table t) { tables[static_cast<size_t>(t)] = true; }
  void TouchKv(const std::string& key) {
    Touch(Table::kKv);
    kv_keys.insert(key);
  }
  void TouchService(const std::string& name) { service_names.insert(name); }
  bool Empty() const;
};

using WatchId = uint64_t;
using WatchCallback = std::function<void()>;

class WatchHub {
 public:
  explicit WatchHub(size_t watchers_max);

  // Registers a one-shot watcher. kResourceExhausted past the watcher limit, kInvalidArgument
  // for no topics or too many.
  Result<WatchId> Add(std::vector<WatchTopic> topics, WatchCallback on_change);
  // False if the watcher already fired or was cancelled.
  bool Cancel(WatchId id);
  size_t Size() const { return watchers_.size(); }

  // Removes the watchers that `changes` wakes and returns their callbacks, in registration
  // order, for the caller to run once its own state is consistent.
  std::vector<WatchCallback> TakeWoken(const ChangeSet& changes);
  // Removes and returns every watcher (the whole state was replaced).
  std::vector<WatchCallback> TakeAll();

 private:
  struct Watcher {
    std::vector<WatchTopic> topics;
    WatchCallback on_change;
  };
  void Unindex(WatchId id, const Watcher& watcher);
  std::vector<WatchCallback> Remove(const std::set<WatchId>& ids);

  size_t watchers_max_;
  WatchId next_id_ = 1;
  std::map<WatchId, Watcher> watchers_;
  std::array<std::set<WatchId>, kTableCount> by_table_;
  std::map<std::string, std::set<WatchId>, std::less<>> by_key_;
  std::map<std::string, std::set<WatchId>, std::less<>> by_prefix_;
  std::map<std::string, std::set<WatchId>, std::less<>> by_service_;
};

}  // namespace cairn::catalog
