// ServerRole: the server a server agent runs (Raft and the replicated catalog), as AgentCore
// uses it.
//
// An interface, so that the agent's core does not link the server. The `cairn` binary and the
// embedding library link the real one (server_role_catalog.cpp, a server::CatalogServer);
// `cairn-client`, the client-only agent, links server_role_none.cpp instead, and so loads
// neither Raft's log store nor RocksDB (a client agent's memory is mostly the code it maps).
//
// Threads: every method runs on the agent's loop thread; callbacks run there.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "catalog/command.h"
#include "catalog/state_store.h"
#include "common/env.h"
#include "common/log.h"
#include "common/status.h"
#include "server/catalog_server.h"

namespace cairn::agent {

class ServerRole {
 public:
  using WriteFn = std::function<void(Result<catalog::CommandResult>)>;
  using DoneFn = std::function<void(Status)>;

  virtual ~ServerRole() = default;

  // Raft (server/raft_host.h).
  virtual raft::NodeId Leader() const = 0;
  virtual bool IsLeader() const = 0;
  virtual server::RaftHostStatus RaftStatus() const = 0;
  virtual std::vector<server::RaftServer> Configuration() const = 0;
  virtual raft::Index ConfigurationIndex() const = 0;
  virtual Status Campaign() = 0;
  virtual void AddServer(raft::NodeId id, NetAddress address, DoneFn done) = 0;
  virtual void RemoveServer(raft::NodeId id, DoneFn done) = 0;

  // The catalog (server/catalog_server.h). Reads go to the store directly, except a read-only
  // transaction, which shares the write rules of transactions (catalog/txn.cpp) and so lives
  // with the store's RocksDB side.
  virtual const catalog::StateStore& Store() const = 0;
  virtual catalog::StateStore& Store() = 0;
  virtual Result<catalog::TxnResult> TxnRead(const std::vector<catalog::TxnOp>& ops) const = 0;
  virtual void Write(catalog::Command command, WriteFn done) = 0;
  virtual void WriteViaLeader(catalog::Command command, WriteFn done) = 0;
  virtual void ReadBarrier(DoneFn done) = 0;
  virtual Result<catalog::Session> RenewSession(const std::string& id) = 0;
};

// Opens the server with its state in options.data_dir. Defined once per binary: by
// server_role_catalog.cpp, or by server_role_none.cpp (kFailedPrecondition: no server mode).
Result<std::unique_ptr<ServerRole>> OpenServerRole(Env& env, Logger& logger, server::CatalogServerOptions options);

}  // namespace cairn::agent
