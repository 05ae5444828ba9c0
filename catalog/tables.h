// The in-memory tables behind the state store, with the secondary indexes reads need.
// Internal to catalog/.
//
// The primary maps are ordered so prefix scans are range scans. They are changed only through
// the Set* functions, which keep the secondary indexes in step (and which rollback uses too,
// so undoing a change restores the secondary indexes for free).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "catalog/types.h"
#include "catalog/watch.h"
#include "common/status.h"

namespace cairn::catalog {

// (node name, id): services and checks are scoped to their node.
using NodeScoped = std::pair<std::string, std::string>;

struct Tables {
  std::map<std::string, Node, std::less<>> nodes;
  std::map<NodeScoped, Service> services;
  std::map<NodeScoped, Check> checks;
  std::map<std::string, KvEntry, std::less<>> kv;
  // Deleted keys -> the index that deleted them, so prefix reads see deletes move the index.
  std::map<std::string, RaftIndex, std::less<>> tombstones;
  std::map<std::string, Session, std::less<>> sessions;
  // Key -> unix millis until which acquires are refused (after its holder was invalidated).
  std::map<std::string, int64_t, std::less<>> lock_delays;
  // Service name -> the highest index that changed one of its instances, their nodes or any
  // of their checks, so a health query on one service is not woken by another. Present
  // exactly while the service has instances.
  std::map<std::string, RaftIndex, std::less<>> service_index;

  // Secondary indexes, derived from the maps above.
  std::map<std::string, std::set<NodeScoped>, std::less<>> services_by_name;
  std::map<std::string, std::set<std::string>, std::less<>> locks_by_session;
  std::map<std::string, std::set<std::string>, std::less<>> sessions_by_node;
  std::map<NodeScoped, std::set<std::string>> sessions_by_check;

  std::array<RaftIndex, kTableCount> table_index{};
  RaftIndex applied;

  // nullopt erases.
  void SetNode(const std::string& name, std::optional<Node> node);
  void SetService(const NodeScoped& key, std::optional<Service> service);
  void SetCheck(const NodeScoped& key, std::optional<Check> check);
  void SetKv(const std::string& key, std::optional<KvEntry> entry);
  void SetTombstone(const std::string& key, std::optional<RaftIndex> index);
  void SetSession(const std::string& id, std::optional<Session> session);
  void SetLockDelay(const std::string& key, std::optional<int64_t> until_millis);
  void SetServiceIndex(const std::string& name, std::optional<RaftIndex> index);

  RaftIndex& IndexOf(Table table) { return table_index[static_cast<size_t>(table)]; }
  RaftIndex IndexOf(Table table) const { return table_index[static_cast<size_t>(table)]; }

  // Cross-table invariants a loaded state must satisfy (services and checks on existing
  // nodes, sessions on existing nodes and checks, locks held by existing sessions, no index
  // past the applied index). kCorruption names the first violation.
  Status Validate() const;
};

}  // namespace cairn::catalog
