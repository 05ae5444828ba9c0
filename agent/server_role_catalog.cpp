// The ServerRole of the `cairn` binary and the embedding library: a server::CatalogServer.
#include "agent/server_role.h"

namespace cairn::agent {
namespace {

class CatalogServerRole final : public ServerRole {
 public:
  explicit CatalogServerRole(std::unique_ptr<server::CatalogServer> server) : server_(std::move(server)) {}

  raft::NodeId Leader() const override { return server_->Raft().Leader(); }
  bool IsLeader() const override { return server_->Raft().IsLeader(); }
  server::RaftHostStatus RaftStatus() const override { return server_->Raft().GetStatus(); }
  std::vector<server::RaftServer> Configuration() const override { return server_->Raft().Configuration(); }
  raft::Index ConfigurationIndex() const override { return server_->Raft().ConfigurationIndex(); }
  Status Campaign() override { return server_->Raft().Campaign(); }
  void AddServer(raft::NodeId id, NetAddress address, DoneFn done) override {
    server_->Raft().AddServer(id, std::move(address), std::move(done));
  }
  void RemoveServer(raft::NodeId id, DoneFn done) override { server_->Raft().RemoveServer(id, std::move(done)); }

  const catalog::StateStore& Store() const override { return server_->Store(); }
  catalog::StateStore& Store() override { return server_->Store(); }
  Result<catalog::TxnResult> TxnRead(const std::vector<catalog::TxnOp>& ops) const override {
    return server_->Store().TxnRead(ops);
  }
  void Write(catalog::Command command, WriteFn done) override { server_->Write(std::move(command), std::move(done)); }
  void WriteViaLeader(catalog::Command command, WriteFn done) override {
    server_->WriteViaLeader(std::move(command), std::move(done));
  }
  void ReadBarrier(DoneFn done) override { server_->ReadBarrier(std::move(done)); }
  Result<catalog::Session> RenewSession(const std::string& id) override { return server_->RenewSession(id); }

 private:
  std::unique_ptr<server::CatalogServer> server_;
};

}  // namespace

Result<std::unique_ptr<ServerRole>> OpenServerRole(Env& env, Logger& logger, server::CatalogServerOptions options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<server::CatalogServer> server,
                         server::CatalogServer::Open(env, logger, std::move(options)));
  return std::unique_ptr<ServerRole>(std::make_unique<CatalogServerRole>(std::move(server)));
}

}  // namespace cairn::agent
