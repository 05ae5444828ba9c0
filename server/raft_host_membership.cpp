// RaftHost: membership changes and the address book that goes with them.
//
// Where each member can be reached must survive restarts and reach every replica, so it lives
// in replicated, durable places only: a member's address travels in the context of the
// config-change entry that adds it, and every snapshot the host stores wraps the state
// machine's image together with the address book of the snapshot's members. A restarted
// replica rebuilds the book from its snapshot plus the additions stored after it; removals are
// applied (and the transport told) when the removal entry is applied.
#include <algorithm>

#include "common/codec.h"
#include "server/raft/message_codec.h"
#include "server/raft_host.h"

namespace cairn::server {
namespace {

constexpr uint8_t kHostSnapshotVersion = 1;
constexpr size_t kHostBytesMax = 255;  // a dotted quad or a host name

std::string EncodeAddress(const NetAddress& address) {
  Encoder e;
  e.PutBytes(address.host);
  e.PutVarint64(address.port);
  return e.Take();
}

void ReadAddress(Decoder& d, NetAddress& address) {
  address.host = std::string(d.ReadBytes(kHostBytesMax));
  const uint64_t port = d.ReadVarint64();
  if (port > UINT16_MAX) d.Fail("port " + std::to_string(port) + " out of range");
  address.port = static_cast<uint16_t>(port);
}

Result<NetAddress> DecodeAddress(std::string_view bytes) {
  Decoder d(bytes, "member address");
  NetAddress address;
  ReadAddress(d, address);
  CAIRN_RETURN_IF_ERROR(d.Finish());
  return address;
}

bool IsMember(const raft::Configuration& config, raft::NodeId id) {
  return raft::IsVoter(config, id) || raft::IsLearner(config, id);
}

}  // namespace

std::string RaftHost::TakeHostSnapshot(const raft::Configuration& config) {
  std::vector<std::pair<raft::NodeId, NetAddress>> book;
  for (const auto& [id, address] : addresses_) {
    if (IsMember(config, id)) book.emplace_back(id, address);
  }
  Encoder e;
  e.PutU8(kHostSnapshotVersion);
  e.PutVarint64(book.size());
  for (const auto& [id, address] : book) {
    e.PutVarint64(id.value);
    e.PutBytes(EncodeAddress(address));
  }
  e.PutBytes(state_machine_.TakeSnapshot());
  return e.Take();
}

Status RaftHost::RestoreHostSnapshot(std::string_view data) {
  // A joining replica starts from nothing: no book yet, and the state machine's empty state.
  if (data.empty()) return state_machine_.Restore(data);
  Decoder d(data, "raft host snapshot");
  const uint8_t version = d.ReadU8();
  if (version != kHostSnapshotVersion) d.Fail("unknown version " + std::to_string(version));
  const uint64_t count = d.ReadVarint64();
  if (count > raft::kConfigMembersMax) d.Fail("address book of " + std::to_string(count) + " members");
  std::map<raft::NodeId, NetAddress> book;
  for (uint64_t i = 0; i < count && !d.HasError(); ++i) {
    const raft::NodeId id(d.ReadVarint64());
    Decoder entry(d.ReadBytes(raft::kConfigChangeContextBytesMax), "address book entry");
    ReadAddress(entry, book[id]);
    if (!entry.Finish().IsOk()) d.Fail("address book entry " + std::to_string(id.value) + " is malformed");
  }
  const std::string_view image = d.ReadBytes(SIZE_MAX);
  CAIRN_RETURN_IF_ERROR(d.Finish());
  CAIRN_RETURN_IF_ERROR(state_machine_.Restore(image));
  // The durable book is authoritative; the configured peers only fill in a replica that has
  // none yet. This replica's own address is always the one it was started with.
  if (!book.empty()) addresses_ = std::move(book);
  addresses_[Id()] = options_.peers.at(Id());
  SyncTransportPeers();
  return OkStatus();
}

void RaftHost::NoteStoredMembers() {
  const raft::Index first = std::max(snapshot_index_.Next(), storage_->FirstIndex());
  const raft::Index last = storage_->LastIndex();
  if (first > last) return;
  Result<std::vector<raft::Entry>> entries = storage_->Entries(first, last.Next(), UINT64_MAX);
  CAIRN_ASSERT(entries.IsOk(), "stored log unreadable at startup: " + entries.GetStatus().ToString());
  for (const raft::Entry& entry : *entries) {
    if (entry.type != raft::EntryType::kConfigChange) continue;
    Result<raft::ConfigChange> change = raft::DecodeConfigChange(entry.data);
    CAIRN_ASSERT(change.IsOk(), "undecodable config change in the log: " + change.GetStatus().ToString());
    if (change->node == Id()) continue;
    // Entries through applied_ are committed and will not be applied again (a state machine
    // with durable state resumes after them); a later removal waits until it is applied, while
    // a later addition's address is harmless to know early.
    if (change->type == raft::ConfigChangeType::kRemove && entry.index <= applied_) addresses_.erase(change->node);
    if (change->type != raft::ConfigChangeType::kAddLearner || change->context.empty()) continue;
    Result<NetAddress> address = DecodeAddress(change->context);
    if (address.IsOk()) addresses_[change->node] = *address;
  }
}

void RaftHost::NoteMembershipEntry(const raft::Entry& entry) {
  Result<raft::ConfigChange> change = raft::DecodeConfigChange(entry.data);
  // The core decoded this committed entry already; it cannot fail here.
  CAIRN_ASSERT(change.IsOk(), "undecodable config change: " + change.GetStatus().ToString());
  if (change->node == Id()) return;
  if (change->type == raft::ConfigChangeType::kAddLearner && !change->context.empty()) {
    Result<NetAddress> address = DecodeAddress(change->context);
    if (address.IsOk()) {
      addresses_[change->node] = *address;
    } else {
      logger_.WarnRateLimited("raft-member-address", "config change carries an unreadable address",
                              {{"node", change->node.value}, {"error", address.GetStatus().ToString()}});
    }
  } else if (change->type == raft::ConfigChangeType::kRemove) {
    addresses_.erase(change->node);
  }
  SyncTransportPeers();
  logger_.Info(
      "raft membership changed",
      {{"index", entry.index.value}, {"node", change->node.value}, {"change", static_cast<int>(change->type)}});
}

void RaftHost::SyncTransportPeers() {
  if (!transport_) return;  // Start tells it once it exists
  for (auto it = transport_peers_.begin(); it != transport_peers_.end();) {
    if (addresses_.count(it->first) != 0) {
      ++it;
      continue;
    }
    transport_->RemovePeer(it->first);
    it = transport_peers_.erase(it);
  }
  for (const auto& [id, address] : addresses_) {
    if (id == Id()) continue;
    auto known = transport_peers_.find(id);
    if (known != transport_peers_.end() && known->second.host == address.host && known->second.port == address.port) {
      continue;
    }
    transport_->SetPeer(id, address);
    transport_peers_[id] = address;
  }
}

void RaftHost::AddServer(raft::NodeId id, NetAddress address, ChangeFn done) {
  if (id == raft::kNoNode || address.host.empty() || address.port == 0) {
    done(Status::InvalidArgument("raft host: a new server needs a node id and a host:port address"));
    return;
  }
  if (address.host.size() > kHostBytesMax) {
    done(Status::InvalidArgument("raft host: host name longer than " + std::to_string(kHostBytesMax) + " bytes"));
    return;
  }
  // Known before the entry commits: the leader starts replicating to a learner at once.
  const bool had_address = addresses_.count(id) != 0;
  const NetAddress previous = had_address ? addresses_[id] : NetAddress{};
  addresses_[id] = address;
  SyncTransportPeers();
  raft::ConfigChange change{raft::ConfigChangeType::kAddLearner, id, EncodeAddress(address)};
  Status proposed = ProposeMembership(change, MembershipChange::Stage::kAddingLearner, done);
  if (proposed.IsOk()) return;
  if (had_address) {
    addresses_[id] = previous;
  } else {
    addresses_.erase(id);
  }
  SyncTransportPeers();
  done(proposed);
}

void RaftHost::RemoveServer(raft::NodeId id, ChangeFn done) {
  Status safe = CheckRemovalKeepsQuorum(id);
  if (!safe.IsOk()) {
    done(safe);
    return;
  }
  Status proposed = ProposeMembership(raft::ConfigChange{raft::ConfigChangeType::kRemove, id, {}},
                                      MembershipChange::Stage::kRemoving, done);
  if (!proposed.IsOk()) done(proposed);
}

// A removal commits in the new configuration's terms: if the voters left cannot form a quorum
// among those this leader reaches, the cluster would stop committing, removal included.
Status RaftHost::CheckRemovalKeepsQuorum(raft::NodeId id) const {
  const raft::Configuration& config = raft_->GetConfiguration();
  if (!raft::IsVoter(config, id) || config.voters.size() <= 1) return OkStatus();  // the core judges these
  size_t remaining = 0;
  size_t reachable = 0;
  for (raft::NodeId voter : config.voters) {
    if (voter == id) continue;
    ++remaining;
    if (voter == Id() || transport_->IsConnected(voter)) ++reachable;
  }
  if (reachable >= remaining / 2 + 1) return OkStatus();
  return Status::FailedPrecondition("raft host: removing " + std::to_string(id.value) + " would leave " +
                                    std::to_string(remaining) + " voters of which this leader reaches only " +
                                    std::to_string(reachable) + ", not a quorum");
}

Status RaftHost::ProposeMembership(const raft::ConfigChange& change, MembershipChange::Stage stage, ChangeFn& done) {
  if (raft_->GetRole() != raft::Role::kLeader) return Status::Unavailable("raft: not the leader");
  if (membership_) return Status::FailedPrecondition("raft host: a membership change is already in progress");
  CAIRN_ASSIGN_OR_RETURN(raft::LogPosition position, raft_->ProposeConfigChange(change));
  membership_ = MembershipChange{stage, change.node, position, 0, std::move(done)};
  SchedulePump();
  return OkStatus();
}

void RaftHost::NoteAppliedForMembership(const raft::Entry& entry) {
  if (!membership_ || membership_->stage == MembershipChange::Stage::kCatchingUp) return;
  if (entry.index != membership_->position.index) return;
  if (entry.term != membership_->position.term) {
    FinishMembership(Status::Aborted("raft host: the membership entry was replaced by a new leader's entry"));
    return;
  }
  if (membership_->stage != MembershipChange::Stage::kAddingLearner) {
    FinishMembership(OkStatus());
    return;
  }
  membership_->stage = MembershipChange::Stage::kCatchingUp;
  membership_->deadline_tick = ticks_ + options_.catch_up_timeout_ticks;
  TryPromote();
}

void RaftHost::TryPromote() {
  if (!membership_ || membership_->stage != MembershipChange::Stage::kCatchingUp) return;
  if (ticks_ >= membership_->deadline_tick) {
    FinishMembership(Status::Timeout("raft host: server " + std::to_string(membership_->node.value) +
                                     " did not catch up within catch_up_timeout_ticks (" +
                                     std::to_string(options_.catch_up_timeout_ticks) + "); it stays a learner"));
    return;
  }
  Result<raft::LogPosition> position =
      raft_->ProposeConfigChange(raft::ConfigChange{raft::ConfigChangeType::kPromote, membership_->node, {}});
  if (position.IsOk()) {
    membership_->stage = MembershipChange::Stage::kPromoting;
    membership_->position = *position;
    SchedulePump();
    return;
  }
  // Not caught up yet, or the addition not yet committed everywhere the core looks: next tick.
  const StatusCode code = position.GetStatus().Code();
  if (code == StatusCode::kUnavailable || code == StatusCode::kFailedPrecondition) return;
  FinishMembership(position.GetStatus());
}

void RaftHost::FinishMembership(const Status& status) {
  ChangeFn done = std::move(membership_->done);
  membership_.reset();
  done(status);
}

void RaftHost::FailMembershipOnLeadershipLoss() {
  if (!membership_) return;
  // A leader that removes itself steps down in the same Ready that commits the removal.
  const raft::LogPosition position = membership_->position;
  const bool committed = membership_->stage != MembershipChange::Stage::kCatchingUp &&
                         position.index <= raft_->Log().Committed() &&
                         raft_->Log().TermAt(position.index).ValueOr(raft::Term(0)) == position.term;
  if (committed && membership_->stage != MembershipChange::Stage::kAddingLearner) {
    FinishMembership(OkStatus());
    return;
  }
  FinishMembership(Status::Aborted("raft host: leadership lost during the membership change; the outcome is unknown"));
}

raft::Index RaftHost::ConfigurationIndex() const { return raft_->ConfigurationIndex(); }

std::vector<RaftServer> RaftHost::Configuration() const {
  const raft::Configuration& config = raft_->GetConfiguration();
  std::vector<RaftServer> servers;
  auto add = [&](raft::NodeId id, bool voter) {
    auto it = addresses_.find(id);
    servers.push_back(RaftServer{id, it == addresses_.end() ? NetAddress{} : it->second, voter});
  };
  for (raft::NodeId id : config.voters) add(id, true);
  for (raft::NodeId id : config.learners) add(id, false);
  return servers;
}

}  // namespace cairn::server
