// RaftConsensus: the Consensus interface implemented with the Raft core.
//
// It translates between the engine-neutral types of server/consensus.h and the Raft core:
// terms become epochs, NodeIds ReplicaIds, Raft messages opaque bytes (message_codec.h), the
// hard state an opaque metadata blob. The durable store is a raft::WritableStorage, which the
// core reads and Persist/CompactTo write.
#pragma once

#include <memory>

#include "server/consensus.h"
#include "server/raft/raft.h"

namespace cairn::consensus {

class RaftConsensus final : public Consensus {
 public:
  // `storage` must outlive the engine.
  static Result<std::unique_ptr<RaftConsensus>> Create(const raft::RaftConfig& config, raft::WritableStorage& storage);

  ReplicaId Id() const override { return raft_->Id().value; }
  ReplicaId Leader() const override { return raft_->Leader().value; }
  bool IsLeader() const override { return raft_->GetRole() == raft::Role::kLeader; }
  Membership CurrentMembership() const override;

  Result<ProposalId> Propose(std::string command) override;
  Result<ProposalId> ProposeMembershipChange(const MembershipChange& change) override;
  Status ReadIndex(std::string context) override { return raft_->ReadIndex(std::move(context)); }
  Status TransferLeadership(ReplicaId target) override { return raft_->TransferLeadership(raft::NodeId(target)); }
  Status Step(std::string_view bytes) override;
  void Tick() override { raft_->Tick(); }

  bool HasReady() const override { return raft_->HasReady(); }
  ConsensusReady GetReady() override;
  Status Persist(const DurableBatch& batch) override;
  void Advance() override { raft_->Advance(); }

  Status CompactTo(const SnapshotImage& image, uint64_t trailing_entries) override;

  // The core underneath, for status pages and tests.
  const raft::Raft& Core() const { return *raft_; }

  // Metadata blob <-> HardState (exposed for log stores that want to inspect it).
  static std::string EncodeHardState(const raft::HardState& hs);
  static Result<raft::HardState> DecodeHardState(std::string_view bytes);

 private:
  RaftConsensus(raft::WritableStorage& storage, std::unique_ptr<raft::Raft> raft)
      : storage_(storage), raft_(std::move(raft)) {}

  raft::WritableStorage& storage_;
  std::unique_ptr<raft::Raft> raft_;
};

}  // namespace cairn::consensus
