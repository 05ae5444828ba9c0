// The read side of the state store: KV, sessions, catalog and health queries, each with the
// index Consul reports for it.
#include <algorithm>

#include "catalog/state_store.h"
#include "catalog/tables.h"

namespace cairn::catalog {
namespace {

RaftIndex Max(std::initializer_list<RaftIndex> indexes) { return std::max(indexes); }

template <typename Map, typename Fn>
void ForPrefix(const Map& map, std::string_view prefix, Fn fn) {
  for (auto it = map.lower_bound(prefix); it != map.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    fn(it->first, it->second);
  }
}

bool HasTag(const Service& service, std::string_view tag) {
  return std::find(service.tags.begin(), service.tags.end(), tag) != service.tags.end();
}

}  // namespace

Indexed<std::optional<KvEntry>> StateStore::KvGet(std::string_view key) const {
  auto it = tables_->kv.find(key);
  if (it == tables_->kv.end()) return {std::nullopt, tables_->IndexOf(Table::kKv)};
  return {it->second, it->second.modify_index};
}

RaftIndex StateStore::KvPrefixIndex(std::string_view prefix) const {
  if (prefix.empty()) return tables_->IndexOf(Table::kKv);
  RaftIndex highest;
  ForPrefix(tables_->kv, prefix,
            [&](const std::string&, const KvEntry& e) { highest = std::max(highest, e.modify_index); });
  ForPrefix(tables_->tombstones, prefix, [&](const std::string&, RaftIndex i) { highest = std::max(highest, i); });
  return highest.value != 0 ? highest : tables_->IndexOf(Table::kKv);
}

Indexed<std::vector<KvEntry>> StateStore::KvList(std::string_view prefix) const {
  std::vector<KvEntry> entries;
  ForPrefix(tables_->kv, prefix, [&](const std::string&, const KvEntry& e) { entries.push_back(e); });
  return {std::move(entries), KvPrefixIndex(prefix)};
}

Indexed<std::vector<std::string>> StateStore::KvKeys(std::string_view prefix, std::string_view separator) const {
  std::vector<std::string> keys;
  ForPrefix(tables_->kv, prefix, [&](const std::string& key, const KvEntry&) {
    std::string_view shown = key;
    if (!separator.empty()) {
      const size_t cut = shown.find(separator, prefix.size());
      if (cut != std::string_view::npos) shown = shown.substr(0, cut + separator.size());
    }
    // Keys arrive sorted, so equal cut-offs are adjacent.
    if (keys.empty() || keys.back() != shown) keys.emplace_back(shown);
  });
  return {std::move(keys), KvPrefixIndex(prefix)};
}

int64_t StateStore::KvLockDelayUntil(std::string_view key) const {
  auto it = tables_->lock_delays.find(key);
  return it == tables_->lock_delays.end() ? 0 : it->second;
}

Indexed<std::optional<Session>> StateStore::SessionInfo(std::string_view id) const {
  auto it = tables_->sessions.find(id);
  std::optional<Session> session;
  if (it != tables_->sessions.end()) session = it->second;
  return {std::move(session), tables_->IndexOf(Table::kSessions)};
}

Indexed<std::vector<Session>> StateStore::Sessions() const {
  std::vector<Session> sessions;
  for (const auto& [id, session] : tables_->sessions) sessions.push_back(session);
  return {std::move(sessions), tables_->IndexOf(Table::kSessions)};
}

Indexed<std::vector<Session>> StateStore::NodeSessions(std::string_view node) const {
  std::vector<Session> sessions;
  if (auto it = tables_->sessions_by_node.find(node); it != tables_->sessions_by_node.end()) {
    for (const std::string& id : it->second) sessions.push_back(tables_->sessions.at(id));
  }
  return {std::move(sessions), tables_->IndexOf(Table::kSessions)};
}

Result<Session> StateStore::SessionRenew(std::string_view id) const {
  auto it = tables_->sessions.find(id);
  if (it == tables_->sessions.end()) return Status::NotFound("session " + std::string(id) + " does not exist");
  return it->second;
}

Indexed<std::optional<Node>> StateStore::GetNode(std::string_view name) const {
  auto it = tables_->nodes.find(name);
  std::optional<Node> node;
  if (it != tables_->nodes.end()) node = it->second;
  return {std::move(node), tables_->IndexOf(Table::kNodes)};
}

Indexed<std::vector<Node>> StateStore::Nodes() const {
  std::vector<Node> nodes;
  for (const auto& [name, node] : tables_->nodes) nodes.push_back(node);
  return {std::move(nodes), tables_->IndexOf(Table::kNodes)};
}

Indexed<std::vector<Service>> StateStore::NodeServices(std::string_view node) const {
  std::vector<Service> services;
  const std::string name(node);
  for (auto it = tables_->services.lower_bound({name, ""}); it != tables_->services.end() && it->first.first == name;
       ++it) {
    services.push_back(it->second);
  }
  return {std::move(services), Max({tables_->IndexOf(Table::kNodes), tables_->IndexOf(Table::kServices)})};
}

Indexed<std::map<std::string, std::vector<std::string>>> StateStore::Services() const {
  std::map<std::string, std::vector<std::string>> services;
  for (const auto& [name, keys] : tables_->services_by_name) {
    std::set<std::string> tags;
    for (const NodeScoped& key : keys) {
      const Service& s = tables_->services.at(key);
      tags.insert(s.tags.begin(), s.tags.end());
    }
    services[name] = std::vector<std::string>(tags.begin(), tags.end());
  }
  return {std::move(services), tables_->IndexOf(Table::kServices)};
}

RaftIndex StateStore::ServiceIndex(std::string_view service) const {
  if (auto it = tables_->service_index.find(service); it != tables_->service_index.end()) return it->second;
  return Max({tables_->IndexOf(Table::kNodes), tables_->IndexOf(Table::kServices), tables_->IndexOf(Table::kChecks)});
}

Indexed<std::vector<ServiceInstance>> StateStore::ServiceNodes(std::string_view service,
                                                               std::optional<std::string_view> tag) const {
  std::vector<ServiceInstance> instances;
  if (auto it = tables_->services_by_name.find(service); it != tables_->services_by_name.end()) {
    for (const NodeScoped& key : it->second) {
      const Service& s = tables_->services.at(key);
      if (tag && !HasTag(s, *tag)) continue;
      instances.push_back({tables_->nodes.at(key.first), s});
    }
  }
  return {std::move(instances), ServiceIndex(service)};
}

Indexed<std::vector<Check>> StateStore::NodeChecks(std::string_view node) const {
  std::vector<Check> checks;
  const std::string name(node);
  for (auto it = tables_->checks.lower_bound({name, ""}); it != tables_->checks.end() && it->first.first == name;
       ++it) {
    checks.push_back(it->second);
  }
  return {std::move(checks), tables_->IndexOf(Table::kChecks)};
}

Indexed<std::vector<Check>> StateStore::ServiceChecks(std::string_view service) const {
  std::vector<Check> checks;
  for (const auto& [key, check] : tables_->checks) {
    if (check.service_name == service) checks.push_back(check);
  }
  return {std::move(checks), tables_->IndexOf(Table::kChecks)};
}

Indexed<std::vector<Check>> StateStore::ChecksInState(std::optional<HealthStatus> state) const {
  std::vector<Check> checks;
  for (const auto& [key, check] : tables_->checks) {
    if (!state || check.status == *state) checks.push_back(check);
  }
  return {std::move(checks), tables_->IndexOf(Table::kChecks)};
}

Indexed<std::vector<ServiceHealth>> StateStore::ServiceHealthOf(std::string_view service,
                                                                std::optional<std::string_view> tag,
                                                                bool passing_only) const {
  std::vector<ServiceHealth> out;
  for (ServiceInstance& instance : ServiceNodes(service, tag).value) {
    ServiceHealth health{std::move(instance.node), std::move(instance.service), {}};
    bool all_passing = true;
    for (const Check& check : NodeChecks(health.node.name).value) {
      if (!check.service_id.empty() && check.service_id != health.service.id) continue;
      all_passing = all_passing && check.status == HealthStatus::kPassing;
      health.checks.push_back(check);
    }
    if (passing_only && !all_passing) continue;
    out.push_back(std::move(health));
  }
  return {std::move(out), ServiceIndex(service)};
}

}  // namespace cairn::catalog
