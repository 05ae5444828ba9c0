#include "server/raft_consensus.h"

#include "common/codec.h"
#include "server/raft/message_codec.h"

namespace cairn::consensus {
namespace {

// The Raft config-change payload and the neutral membership payload share one layout
// (u8 type, varint node), so records pass between the two unchanged.
static_assert(static_cast<int>(raft::ConfigChangeType::kRemove) == static_cast<int>(MembershipChange::Type::kRemove));

std::vector<ReplicaId> ToReplicas(const std::vector<raft::NodeId>& ids) {
  std::vector<ReplicaId> out;
  for (raft::NodeId id : ids) out.push_back(id.value);
  return out;
}

std::vector<raft::NodeId> ToNodes(const std::vector<ReplicaId>& ids) {
  std::vector<raft::NodeId> out;
  for (ReplicaId id : ids) out.push_back(raft::NodeId(id));
  return out;
}

LogRecord ToRecord(const raft::Entry& e) {
  CommandKind kind = CommandKind::kCommand;
  if (e.type == raft::EntryType::kConfigChange) kind = CommandKind::kMembership;
  if (e.type == raft::EntryType::kNormal && e.data.empty()) kind = CommandKind::kNoop;
  return LogRecord{e.index.value, e.term.value, kind, e.data};
}

raft::Entry ToEntry(const LogRecord& r) {
  const raft::EntryType type =
      r.kind == CommandKind::kMembership ? raft::EntryType::kConfigChange : raft::EntryType::kNormal;
  return raft::Entry{raft::Term(r.epoch), raft::Index(r.index), type, r.data};
}

SnapshotImage ToImage(const raft::Snapshot& s) {
  return SnapshotImage{s.meta.index.value, s.meta.term.value,
                       Membership{ToReplicas(s.meta.configuration.voters), ToReplicas(s.meta.configuration.learners)},
                       s.data};
}

raft::Snapshot ToSnapshot(const SnapshotImage& image) {
  raft::Snapshot s;
  s.meta.index = raft::Index(image.index);
  s.meta.term = raft::Term(image.epoch);
  s.meta.configuration = raft::Configuration{ToNodes(image.membership.voters), ToNodes(image.membership.learners)};
  s.data = image.data;
  return s;
}

std::vector<Envelope> ToEnvelopes(const std::vector<raft::Message>& msgs) {
  std::vector<Envelope> out;
  out.reserve(msgs.size());
  for (const raft::Message& m : msgs) out.push_back(Envelope{m.to.value, raft::EncodeMessage(m)});
  return out;
}

}  // namespace

Result<std::unique_ptr<RaftConsensus>> RaftConsensus::Create(const raft::RaftConfig& config,
                                                             raft::WritableStorage& storage) {
  Result<std::unique_ptr<raft::Raft>> core = raft::Raft::Create(config, storage);
  if (!core.IsOk()) return core.GetStatus();
  return std::unique_ptr<RaftConsensus>(new RaftConsensus(storage, std::move(core).Value()));
}

Membership RaftConsensus::CurrentMembership() const {
  const raft::Configuration& c = raft_->GetConfiguration();
  return Membership{ToReplicas(c.voters), ToReplicas(c.learners)};
}

Result<ProposalId> RaftConsensus::Propose(std::string command) {
  Result<raft::LogPosition> pos = raft_->Propose(std::move(command));
  if (!pos.IsOk()) return pos.GetStatus();
  return ProposalId{pos->term.value, pos->index.value};
}

Result<ProposalId> RaftConsensus::ProposeMembershipChange(const MembershipChange& change) {
  const raft::ConfigChange cc{static_cast<raft::ConfigChangeType>(change.type), raft::NodeId(change.replica), {}};
  Result<raft::LogPosition> pos = raft_->ProposeConfigChange(cc);
  if (!pos.IsOk()) return pos.GetStatus();
  return ProposalId{pos->term.value, pos->index.value};
}

Status RaftConsensus::Step(std::string_view bytes) {
  Result<raft::Message> m = raft::DecodeMessage(bytes);
  if (!m.IsOk()) return m.GetStatus();
  return raft_->Step(*m);
}

ConsensusReady RaftConsensus::GetReady() {
  raft::Ready rd = raft_->GetReady();
  ConsensusReady out;
  if (rd.snapshot) {
    out.durable.snapshot = ToImage(*rd.snapshot);
    out.snapshot_to_restore = out.durable.snapshot;
  }
  for (const raft::Entry& e : rd.entries) out.durable.records.push_back(ToRecord(e));
  if (rd.hard_state) out.durable.hard_state = EncodeHardState(*rd.hard_state);
  out.early_messages = ToEnvelopes(rd.early_messages);
  out.messages = ToEnvelopes(rd.messages);
  for (const raft::Entry& e : rd.committed_entries) out.committed.push_back(ToRecord(e));
  for (const raft::ReadState& rs : rd.read_states) out.reads.push_back(ReadPoint{rs.index.value, rs.context});
  if (rd.soft_state) out.leader = rd.soft_state->leader.value;
  return out;
}

Status RaftConsensus::Persist(const DurableBatch& batch) {
  std::optional<raft::Snapshot> snapshot;
  if (batch.snapshot) snapshot = ToSnapshot(*batch.snapshot);
  std::vector<raft::Entry> entries;
  entries.reserve(batch.records.size());
  for (const LogRecord& r : batch.records) entries.push_back(ToEntry(r));
  std::optional<raft::HardState> hs;
  if (batch.hard_state) {
    Result<raft::HardState> decoded = DecodeHardState(*batch.hard_state);
    if (!decoded.IsOk()) return decoded.GetStatus();
    hs = *decoded;
  }
  return raft::PersistReady(storage_, snapshot, entries, hs);
}

Status RaftConsensus::CompactTo(const SnapshotImage& image, uint64_t trailing_entries) {
  const raft::Snapshot s = ToSnapshot(image);
  CAIRN_RETURN_IF_ERROR(storage_.CreateSnapshot(s.meta.index, s.meta.configuration, s.data));
  if (image.index <= trailing_entries) return OkStatus();
  return storage_.Compact(raft::Index(image.index - trailing_entries));
}

std::string RaftConsensus::EncodeHardState(const raft::HardState& hs) {
  Encoder enc;
  enc.PutVarint64(hs.term.value);
  enc.PutVarint64(hs.vote.value);
  enc.PutVarint64(hs.commit.value);
  return enc.Take();
}

Result<raft::HardState> RaftConsensus::DecodeHardState(std::string_view bytes) {
  Decoder dec(bytes, "raft hard state");
  raft::HardState hs;
  hs.term = raft::Term(dec.ReadVarint64());
  hs.vote = raft::NodeId(dec.ReadVarint64());
  hs.commit = raft::Index(dec.ReadVarint64());
  CAIRN_RETURN_IF_ERROR(dec.Finish());
  return hs;
}

}  // namespace cairn::consensus
