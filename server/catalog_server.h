// CatalogServer: the catalog and KV tree replicated with Raft on one server.
//
// It owns the StateStore (catalog/state_store.h) in <data_dir>/catalog, the FSM that applies
// committed catalog commands (catalog/command.h) to it, and the RaftHost whose log lives in
// <data_dir>/raft. The store records the applied index in the same RocksDB batch as every
// change, so a restart replays only the log after it.
//
// Writes: Write() stamps nothing (the caller already stamped now_millis), proposes the encoded
// command and calls back with the CommandResult once it is applied here. Each proposal is
// wrapped with (origin replica, request number) so that the replica that proposed it can hand
// the FSM's result back to the right caller; other replicas ignore the tag.
//
// Leader duties, run only while this replica leads: session TTL timers (a session expires at
// twice its TTL without a renewal, as Consul does; timers restart in full when leadership
// changes hands, because the new leader cannot know when the old one last saw a renewal) and
// the periodic reaping of old KV tombstones and ended lock-delays.
//
// Threads: every method must be called on the Env's loop thread; callbacks run there.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "catalog/command.h"
#include "catalog/state_store.h"
#include "common/env.h"
#include "common/log.h"
#include "common/status.h"
#include "server/raft_host.h"

namespace cairn::server {

struct CatalogServerOptions {
  // Raft settings; `raft.data_dir` is ignored: the log lives in <data_dir>/raft.
  RaftHostOptions raft;
  std::string data_dir;
  catalog::StoreOptions store;
  // How often the leader looks for expired sessions.
  Duration session_check_interval = std::chrono::milliseconds(500);
  // Tombstones are reaped once they are older than this (Consul's tombstone_ttl is 15 min)...
  Duration tombstone_ttl = std::chrono::minutes(15);
  // ...checked this often.
  Duration reap_interval = std::chrono::seconds(30);
  // Writes proposed here and not yet applied; beyond this Write fails with kResourceExhausted.
  size_t pending_writes_max = 1 << 16;
};

class CatalogServer {
 public:
  using WriteFn = std::function<void(Result<catalog::CommandResult>)>;

  static Result<std::unique_ptr<CatalogServer>> Open(Env& env, Logger& logger, CatalogServerOptions options);
  ~CatalogServer();
  CatalogServer(const CatalogServer&) = delete;
  CatalogServer& operator=(const CatalogServer&) = delete;

  // Proposes `command`; `done` gets its result once applied at this replica. kUnavailable
  // when this replica is not the leader (the caller forwards to Raft().Leader()), and the
  // RaftHost's errors otherwise (kAborted: outcome unknown).
  void Write(catalog::Command command, WriteFn done);

  // Calls `done` once this replica has applied everything committed before the call
  // (a Raft ReadIndex; works on followers too). Reads after it are linearizable.
  void ReadBarrier(std::function<void(Status)> done);

  // Leader only: resets the session's TTL timer. kUnavailable when not the leader,
  // kNotFound when the session does not exist.
  Result<catalog::Session> RenewSession(const std::string& id);

  catalog::StateStore& Store() { return *store_; }
  const catalog::StateStore& Store() const { return *store_; }
  RaftHost& Raft() { return *raft_; }
  const RaftHost& Raft() const { return *raft_; }

 private:
  class Fsm;
  CatalogServer(Env& env, Logger& logger, CatalogServerOptions options);

  Env& env_;
  Logger& logger_;
  CatalogServerOptions options_;
  std::unique_ptr<catalog::StateStore> store_;
  std::unique_ptr<Fsm> fsm_;
  std::unique_ptr<RaftHost> raft_;
};

}  // namespace cairn::server
