#include "catalog/tables.h"

namespace cairn::catalog {
namespace {

template <typename Index, typename Key, typename Value>
void IndexErase(Index& index, const Key& key, const Value& value) {
  auto it = index.find(key);
  if (it == index.end()) return;
  it->second.erase(value);
  if (it->second.empty()) index.erase(it);
}

template <typename Map, typename Key, typename Value>
void Assign(Map& map, const Key& key, std::optional<Value> value) {
  if (value) {
    map.insert_or_assign(key, std::move(*value));
  } else {
    map.erase(key);
  }
}

}  // namespace

void Tables::SetNode(const std::string& name, std::optional<Node> node) { Assign(nodes, name, std::move(node)); }

void Tables::SetService(const NodeScoped& key, std::optional<Service> service) {
  if (auto old = services.find(key); old != services.end()) IndexErase(services_by_name, old->second.name, key);
  if (service) services_by_name[service->name].insert(key);
  Assign(services, key, std::move(service));
}

void Tables::SetCheck(const NodeScoped& key, std::optional<Check> check) { Assign(checks, key, std::move(check)); }

void Tables::SetKv(const std::string& key, std::optional<KvEntry> entry) {
  if (auto old = kv.find(key); old != kv.end() && !old->second.session.empty()) {
    IndexErase(locks_by_session, old->second.session, key);
  }
  if (entry && !entry->session.empty()) locks_by_session[entry->session].insert(key);
  Assign(kv, key, std::move(entry));
}

void Tables::SetTombstone(const std::string& key, std::optional<RaftIndex> index) {
  Assign(tombstones, key, std::move(index));
}

void Tables::SetSession(const std::string& id, std::optional<Session> session) {
  if (auto old = sessions.find(id); old != sessions.end()) {
    IndexErase(sessions_by_node, old->second.node, id);
    for (const std::string& check : old->second.checks)
      IndexErase(sessions_by_check, NodeScoped(old->second.node, check), id);
  }
  if (session) {
    sessions_by_node[session->node].insert(id);
    for (const std::string& check : session->checks) sessions_by_check[NodeScoped(session->node, check)].insert(id);
  }
  Assign(sessions, id, std::move(session));
}

void Tables::SetLockDelay(const std::string& key, std::optional<int64_t> until_millis) {
  Assign(lock_delays, key, std::move(until_millis));
}

void Tables::SetServiceIndex(const std::string& name, std::optional<RaftIndex> index) {
  Assign(service_index, name, std::move(index));
}

Status Tables::Validate() const {
  auto past_applied = [this](RaftIndex i) { return i > applied; };
  for (RaftIndex i : table_index) {
    if (past_applied(i)) return Status::Corruption("a table index is past the applied index");
  }
  for (const auto& [key, service] : services) {
    if (!nodes.contains(key.first))
      return Status::Corruption("service " + key.second + " is on unknown node " + key.first);
    if (past_applied(service.modify_index))
      return Status::Corruption("service " + key.second + " is past the applied index");
  }
  for (const auto& [key, check] : checks) {
    if (!nodes.contains(key.first))
      return Status::Corruption("check " + key.second + " is on unknown node " + key.first);
    if (!check.service_id.empty() && !services.contains(NodeScoped(key.first, check.service_id))) {
      return Status::Corruption("check " + key.second + " names unknown service " + check.service_id);
    }
  }
  for (const auto& [id, session] : sessions) {
    if (!nodes.contains(session.node))
      return Status::Corruption("session " + id + " is on unknown node " + session.node);
    for (const std::string& check : session.checks) {
      if (!checks.contains(NodeScoped(session.node, check))) {
        return Status::Corruption("session " + id + " depends on unknown check " + check);
      }
    }
  }
  for (const auto& [name, keys] : services_by_name) {
    auto index = service_index.find(name);
    if (index == service_index.end()) return Status::Corruption("service " + name + " has no service index");
    if (past_applied(index->second)) return Status::Corruption("service " + name + " index is past the applied index");
  }
  if (service_index.size() != services_by_name.size()) return Status::Corruption("a service index names no service");
  for (const auto& [key, entry] : kv) {
    if (!entry.session.empty() && !sessions.contains(entry.session)) {
      return Status::Corruption("key " + key + " is locked by unknown session " + entry.session);
    }
    if (past_applied(entry.modify_index)) return Status::Corruption("key " + key + " is past the applied index");
    if (tombstones.contains(key)) return Status::Corruption("key " + key + " is both live and a tombstone");
  }
  return OkStatus();
}

}  // namespace cairn::catalog
