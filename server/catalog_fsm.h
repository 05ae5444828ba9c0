// The catalog's Raft state machine (internal to server/): decodes each committed proposal,
// applies its command to the StateStore at the entry's Raft index and reports the result to
// the CatalogServer, which answers the replica that proposed it.
//
// A proposal is an envelope: a format byte, the proposing replica's id (varint), its request
// number (fixed64), then the encoded catalog command. The envelope lets the proposer match a
// result to its caller; every other replica applies the command and ignores the tag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "catalog/command.h"
#include "server/catalog_server.h"

namespace cairn::server {

struct CatalogProposal {
  uint64_t origin = 0;
  uint64_t request = 0;
  std::string_view command;  // the encoded catalog::Command
};

std::string EncodeCatalogProposal(uint64_t origin, uint64_t request, std::string_view command);
Result<CatalogProposal> DecodeCatalogProposal(std::string_view bytes);

class CatalogServer::Fsm final : public StateMachine {
 public:
  Fsm(CatalogServer& server, Logger& logger) : server_(server), logger_(logger) {}

  // Opens a store group (StateStore::BeginGroup) on the first command of a run, so the run's
  // commands reach RocksDB as one batch instead of one write each.
  void Apply(raft::Index index, std::string_view proposal) override;
  // Writes the run's group.
  void FinishApplying() override;
  std::string TakeSnapshot() override { return server_.Store().Snapshot(); }
  Status Restore(std::string_view image) override;
  // The store records its applied index with every write, so a restart resumes after it.
  raft::Index DurableApplied() const override { return raft::Index(server_.Store().WrittenAppliedIndex().value); }

  uint64_t AppliedCommands() const { return applied_commands_; }

 private:
  // Consumes `index` without a change, for a committed proposal that does not decode.
  void Skip(catalog::RaftIndex index, const Status& why);

  CatalogServer& server_;
  Logger& logger_;
  uint64_t applied_commands_ = 0;
};

}  // namespace cairn::server
