#include "catalog/watch.h"

#include "catalog/catalog_limits.h"

namespace cairn::catalog {

bool ChangeSet::Empty() const {
  for (bool touched : tables) {
    if (touched) return false;
  }
  return kv_keys.empty() && service_names.empty();
}

WatchHub::WatchHub(size_t watchers_max) : watchers_max_(watchers_max) {}

Result<WatchId> WatchHub::Add(std::vector<WatchTopic> topics, WatchCallback on_change) {
  if (topics.empty()) return Status::InvalidArgument("a watcher needs at least one topic");
  if (topics.size() > limits::kWatchTopicsPerWatcherMax) {
    return Status::InvalidArgument("watcher has " + std::to_string(topics.size()) +
                                   " topics, more than kWatchTopicsPerWatcherMax (" +
                                   std::to_string(limits::kWatchTopicsPerWatcherMax) + ")");
  }
  if (watchers_.size() >= watchers_max_) {
    return Status::ResourceExhausted("blocking-query watchers are at kWatchersMax (" + std::to_string(watchers_max_) +
                                     ")");
  }
  CAIRN_ASSERT(on_change != nullptr, "a watcher needs a callback");
  const WatchId id = next_id_++;
  for (const WatchTopic& topic : topics) {
    switch (topic.kind) {
      case WatchTopic::Kind::kTable: by_table_[static_cast<size_t>(topic.table)].insert(id); break;
      case WatchTopic::Kind::kKvKey: by_key_[topic.key].insert(id); break;
      case WatchTopic::Kind::kKvPrefix: by_prefix_[topic.key].insert(id); break;
      case WatchTopic::Kind::kService: by_service_[topic.key].insert(id); break;
    }
  }
  watchers_.emplace(id, Watcher{std::move(topics), std::move(on_change)});
  return id;
}

void WatchHub::Unindex(WatchId id, const Watcher& watcher) {
  auto erase_from = [id](auto& index, const std::string& key) {
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second.erase(id);
    if (it->second.empty()) index.erase(it);
  };
  for (const WatchTopic& topic : watcher.topics) {
    switch (topic.kind) {
      case WatchTopic::Kind::kTable: by_table_[static_cast<size_t>(topic.table)].erase(id); break;
      case WatchTopic::Kind::kKvKey: erase_from(by_key_, topic.key); break;
      case WatchTopic::Kind::kKvPrefix: erase_from(by_prefix_, topic.key); break;
      case WatchTopic::Kind::kService: erase_from(by_service_, topic.key); break;
    }
  }
}

bool WatchHub::Cancel(WatchId id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return false;
  Unindex(id, it->second);
  watchers_.erase(it);
  return true;
}

std::vector<WatchCallback> WatchHub::Remove(const std::set<WatchId>& ids) {
  std::vector<WatchCallback> callbacks;
  callbacks.reserve(ids.size());
  for (WatchId id : ids) {
    auto it = watchers_.find(id);
    CAIRN_ASSERT(it != watchers_.end(), "watch index names a watcher that is gone");
    Unindex(id, it->second);
    callbacks.push_back(std::move(it->second.on_change));
    watchers_.erase(it);
  }
  return callbacks;
}

std::vector<WatchCallback> WatchHub::TakeWoken(const ChangeSet& changes) {
  std::set<WatchId> woken;
  for (size_t t = 0; t < kTableCount; ++t) {
    if (changes.tables[t]) woken.insert(by_table_[t].begin(), by_table_[t].end());
  }
  for (const std::string& key : changes.kv_keys) {
    if (auto it = by_key_.find(key); it != by_key_.end()) woken.insert(it->second.begin(), it->second.end());
    // Every prefix of the key, the empty prefix included: one lookup per length keeps this
    // proportional to the key, not to the number of prefix watchers.
    if (by_prefix_.empty()) continue;
    for (size_t length = 0; length <= key.size(); ++length) {
      auto it = by_prefix_.find(std::string_view(key).substr(0, length));
      if (it != by_prefix_.end()) woken.insert(it->second.begin(), it->second.end());
    }
  }
  for (const std::string& name : changes.service_names) {
    if (auto it = by_service_.find(name); it != by_service_.end()) woken.insert(it->second.begin(), it->second.end());
  }
  return Remove(woken);
}

std::vector<WatchCallback> WatchHub::TakeAll() {
  std::set<WatchId> all;
  for (const auto& [id, watcher] : watchers_) all.insert(id);
  return Remove(all);
}

}  // namespace cairn::catalog
