#include "server/catalog_fsm.h"

#include "common/assert.h"
#include "common/codec.h"

namespace cairn::server {
namespace {

constexpr uint8_t kProposalFormat = 1;

}  // namespace

std::string EncodeCatalogProposal(uint64_t origin, uint64_t request, std::string_view command) {
  Encoder e;
  e.PutU8(kProposalFormat);
  e.PutVarint64(origin);
  e.PutFixed64(request);
  e.PutRaw(command);
  return e.Take();
}

Result<CatalogProposal> DecodeCatalogProposal(std::string_view bytes) {
  Decoder d(bytes, "catalog proposal");
  const uint8_t format = d.ReadU8();
  if (!d.HasError() && format != kProposalFormat) d.Fail("unknown proposal format " + std::to_string(format));
  CatalogProposal proposal;
  proposal.origin = d.ReadVarint64();
  proposal.request = d.ReadFixed64();
  proposal.command = d.ReadRaw(d.Remaining());
  CAIRN_RETURN_IF_ERROR(d.Finish());
  return proposal;
}

void CatalogServer::Fsm::Apply(raft::Index raft_index, std::string_view bytes) {
  const catalog::RaftIndex index(raft_index.value);
  catalog::StateStore& store = server_.Store();
  // After a restart the host may re-deliver a few entries the store already holds (it resumes
  // from the lazily written commit index); applying them twice would be wrong.
  if (index <= store.AppliedIndex()) return;
  if (!store.GroupOpen()) store.BeginGroup();
  Result<CatalogProposal> proposal = DecodeCatalogProposal(bytes);
  if (!proposal.IsOk()) return Skip(index, proposal.GetStatus());
  Result<catalog::Command> command = catalog::DecodeCommand(proposal->command);
  if (!command.IsOk()) {
    Skip(index, command.GetStatus());
    server_.OnApplied(proposal->origin, proposal->request, catalog::Command{}, command.GetStatus());
    return;
  }
  Result<catalog::CommandResult> result = catalog::ApplyCommand(store, index, *command);
  // The store failing (I/O) leaves this replica unable to follow the log: stop rather than
  // diverge from the others.
  CAIRN_ASSERT(result.IsOk(),
               "catalog apply at index " + std::to_string(index.value) + " failed: " + result.GetStatus().ToString());
  ++applied_commands_;
  server_.OnApplied(proposal->origin, proposal->request, *command, result);
}

void CatalogServer::Fsm::FinishApplying() {
  catalog::StateStore& store = server_.Store();
  if (store.GroupOpen()) {
    Status written = store.CommitGroup();
    // As for a failed apply: this replica could no longer follow the log, so stop.
    CAIRN_ASSERT(written.IsOk(), "catalog group write failed: " + written.ToString());
  }
}

Status CatalogServer::Fsm::Restore(std::string_view image) {
  // A replica that joined a running cluster has no snapshot of its own until the leader sends
  // one: the host hands over an empty image. The store is what this replica has applied so far
  // (nothing, on the first start), and the log that follows brings the rest.
  if (image.empty()) return OkStatus();
  CAIRN_ASSIGN_OR_RETURN(catalog::RaftIndex image_applied, catalog::StateStore::SnapshotAppliedIndex(image));
  catalog::StateStore& store = server_.Store();
  // At startup the host hands over the log's last snapshot, which the durable store has
  // usually passed. It holds the same committed history up to its own applied index, so
  // going back to the older image would only make the log be applied again.
  if (store.AppliedIndex() > catalog::RaftIndex(0) && image_applied <= store.AppliedIndex()) return OkStatus();
  return store.Restore(image);
}

void CatalogServer::Fsm::Skip(catalog::RaftIndex index, const Status& why) {
  // Write() checks that every command it proposes decodes, so this is a bug or a newer
  // server's command. Every replica holds the same bytes and skips alike, so they stay equal.
  logger_.Error("committed catalog proposal does not decode; skipped",
                {{"index", index.value}, {"error", why.ToString()}});
  Status advanced = server_.Store().AdvanceApplied(index);
  CAIRN_ASSERT(advanced.IsOk(), "catalog store failed to advance: " + advanced.ToString());
}

}  // namespace cairn::server
