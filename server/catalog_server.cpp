#include "server/catalog_server.h"

#include "server/catalog_fsm.h"

namespace cairn::server {

CatalogServer::CatalogServer(Env& env, Logger& logger, CatalogServerOptions options)
    : env_(env),
      logger_(logger),
      options_(std::move(options)),
      // Request numbers start at random so that a restarted replica cannot mistake an old
      // incarnation's entry, applied late, for one of its own new writes.
      next_request_(env.RandomSeed()) {}

Result<std::unique_ptr<CatalogServer>> CatalogServer::Open(Env& env, Logger& logger, CatalogServerOptions options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("catalog server: data_dir is empty");
  CAIRN_RETURN_IF_ERROR(env.CreateDir(options.data_dir));
  std::unique_ptr<CatalogServer> server(new CatalogServer(env, logger, options));
  CAIRN_ASSIGN_OR_RETURN(server->store_, catalog::StateStore::Open(options.data_dir + "/catalog", options.store));
  server->fsm_ = std::make_unique<Fsm>(*server, logger);

  RaftHostOptions raft = std::move(options.raft);
  raft.data_dir = options.data_dir + "/raft";
  // One command per log entry: the store gives every command its own Raft index (the index
  // blocking queries report), so commands must not share an entry. Group commit still holds:
  // one fsync covers every entry of a Ready.
  raft.batch_bytes_max = 0;
  CAIRN_ASSIGN_OR_RETURN(server->raft_, RaftHost::Open(env, logger, *server->fsm_, std::move(raft)));
  server->logger_.Info("catalog server open", {{"applied", server->store_->AppliedIndex().value},
                                               {"raft_applied", server->raft_->Applied().value}});
  server->raft_->SetHostMessageHandler(
      [s = server.get()](raft::NodeId from, std::string_view bytes) { s->OnHostMessage(from, bytes); });
  server->ScheduleDuties();
  return server;
}

CatalogServer::~CatalogServer() {
  if (duty_timer_ != 0) env_.CancelTimer(duty_timer_);
  if (forward_timer_ != 0) env_.CancelTimer(forward_timer_);
  // The host applies into the FSM and the store: it goes first.
  raft_.reset();
}

uint64_t CatalogServer::AppliedCommands() const { return fsm_->AppliedCommands(); }

void CatalogServer::Write(catalog::Command command, WriteFn done) {
  Result<std::string> encoded = AdmitWrite(command);
  if (!encoded.IsOk()) return done(encoded.GetStatus());
  const uint64_t request = next_request_++;
  pending_writes_.emplace(request, std::move(done));
  raft_->Propose(EncodeCatalogProposal(raft_->Id().value, request, *encoded), [this, request](Status status) {
    // Success was answered by OnApplied, which runs first; anything still pending now failed.
    if (status.IsOk()) status = Status::Internal("catalog server: proposal applied without a result");
    FinishWrite(request, status);
  });
}

Result<std::string> CatalogServer::AdmitWrite(const catalog::Command& command) const {
  if (pending_writes_.size() >= options_.pending_writes_max) {
    return Status::ResourceExhausted("catalog server: pending_writes_max (" +
                                     std::to_string(options_.pending_writes_max) + ") reached");
  }
  std::string encoded = catalog::EncodeCommand(command);
  // Every replica must be able to decode what is committed; refuse here what it could not
  // (a field past a catalog limit), before it costs a log entry.
  if (Result<catalog::Command> check = catalog::DecodeCommand(encoded); !check.IsOk()) {
    return Status::InvalidArgument("catalog server: command refused: " + check.GetStatus().Message());
  }
  return encoded;
}

void CatalogServer::FinishWrite(uint64_t request, Result<catalog::CommandResult> result) {
  auto it = pending_writes_.find(request);
  if (it == pending_writes_.end()) return;  // answered already, or an older incarnation's
  WriteFn done = std::move(it->second);
  pending_writes_.erase(it);
  done(std::move(result));
}

void CatalogServer::OnApplied(uint64_t origin, uint64_t request, const catalog::Command& command,
                              const Result<catalog::CommandResult>& result) {
  if (leading_ && result.IsOk() && result->outcome.Ok()) {
    if (const auto* create = std::get_if<catalog::SessionCreateCommand>(&command.body)) {
      if (create->session.ttl_millis > 0) session_deadlines_[create->session.id] = SessionDeadline(create->session);
    }
  }
  if (origin == raft_->Id().value) FinishWrite(request, result);
}

void CatalogServer::ReadBarrier(std::function<void(Status)> done) {
  raft_->ReadIndex([done = std::move(done)](Result<raft::Index> index) { done(index.GetStatus()); });
}

}  // namespace cairn::server
