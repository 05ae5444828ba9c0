// Raft core, leader side: proposals, replication and flow control, commitment, reads,
// membership changes and leadership transfer.
#include <algorithm>

#include "server/raft/message_codec.h"
#include "server/raft/quorum.h"
#include "server/raft/raft.h"

namespace cairn::raft {
namespace {

// The newest heartbeat round `v` acknowledged; the leader itself is always current.
uint64_t RoundOf(const std::map<NodeId, Progress>& progress, NodeId v, NodeId self, uint64_t current) {
  if (v == self) return current;
  auto it = progress.find(v);
  return it == progress.end() ? 0 : it->second.AckedRound();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Proposals

Result<LogPosition> Raft::Propose(std::string data) {
  if (role_ != Role::kLeader) return Status::Unavailable("raft: not the leader");
  if (lead_transferee_ != kNoNode) return Status::Unavailable("raft: leadership transfer in progress");
  if (data.empty()) return Status::InvalidArgument("raft: empty proposals are reserved for the leader's no-op");
  Entry e{term_, Index(0), EntryType::kNormal, std::move(data)};
  if (uncommitted_bytes_ + EntryBytes(e) > cfg_.uncommitted_bytes_max) {
    return Status::ResourceExhausted("raft: uncommitted_bytes_max reached");
  }
  AppendEntries({std::move(e)});
  BroadcastAppend();
  return LogPosition{term_, log_.LastIndex()};
}

Result<LogPosition> Raft::ProposeConfigChange(const ConfigChange& change) {
  if (role_ != Role::kLeader) return Status::Unavailable("raft: not the leader");
  if (lead_transferee_ != kNoNode) return Status::Unavailable("raft: leadership transfer in progress");
  // A new leader may still hold an uncommitted change of an earlier leader in its log; only
  // once its own no-op commits does it know the configuration that change is relative to.
  if (!CommittedInCurrentTerm()) return Status::Unavailable("raft: leader has not committed an entry of its term");
  if (pending_config_index_ > log_.Committed()) {
    return Status::FailedPrecondition("raft: a membership change is already in progress");
  }
  CAIRN_RETURN_IF_ERROR(ValidateConfigChange(change));
  AppendEntries({Entry{term_, Index(0), EntryType::kConfigChange, EncodeConfigChange(change)}});
  pending_config_index_ = log_.LastIndex();
  BroadcastAppend();
  return LogPosition{term_, log_.LastIndex()};
}

Status Raft::ValidateConfigChange(const ConfigChange& change) const {
  const bool voter = IsVoter(config_, change.node);
  const bool learner = IsLearner(config_, change.node);
  if (change.node == kNoNode) return Status::InvalidArgument("raft: node id 0 is reserved");
  switch (change.type) {
    case ConfigChangeType::kAddLearner:
      if (voter || learner) return Status::AlreadyExists("raft: node is already a member");
      return OkStatus();
    case ConfigChangeType::kPromote: {
      if (!learner) return Status::InvalidArgument("raft: only a learner can be promoted");
      const Progress& pr = progress_.at(change.node);
      if (pr.Match().value + cfg_.promote_lag_entries_max < log_.LastIndex().value) {
        return Status::Unavailable("raft: learner has not caught up yet");
      }
      return OkStatus();
    }
    case ConfigChangeType::kRemove:
      if (!voter && !learner) return Status::NotFound("raft: node is not a member");
      if (voter && config_.voters.size() == 1) return Status::FailedPrecondition("raft: cannot remove the last voter");
      return OkStatus();
  }
  return Status::InvalidArgument("raft: unknown config change type");
}

bool Raft::AppendEntries(std::vector<Entry> entries) {
  Index next = log_.LastIndex().Next();
  for (Entry& e : entries) {
    e.term = term_;
    e.index = next;
    next = next.Next();
    uncommitted_sizes_[e.index] = EntryBytes(e);
    uncommitted_bytes_ += EntryBytes(e);
  }
  log_.Append(entries);
  NoteConfigEntries(entries);
  // The leader's own entries count toward commit only after Advance reports them durable.
  return true;
}

// ---------------------------------------------------------------------------------------------
// Replication

bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end() || to == id_) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  const Index prev = pr.Next().Prev();
  Result<Term> prev_term = log_.TermAt(prev);
  Result<std::vector<Entry>> entries = log_.Slice(pr.Next(), log_.LastIndex().Next(), cfg_.append_bytes_max);
  if (!prev_term.IsOk() || !entries.IsOk()) {
    CAIRN_ASSERT(IsCompacted(prev_term.GetStatus()) || IsCompacted(entries.GetStatus()),
                 "raft: unexpected log read failure");
    return SendSnapshot(to, pr);
  }
  if (entries->empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = log_.Committed();
  uint64_t bytes = 0;
  for (const Entry& e : *entries) bytes += EntryBytes(e);
  pr.SentEntries(entries->empty() ? prev : entries->back().index, bytes);
  m.entries = std::move(entries).Value();
  Send(std::move(m));
  return true;
}

bool Raft::SendSnapshot(NodeId to, Progress& pr) {
  // A follower we have not heard from recently may be down; do not ship it a whole snapshot.
  if (!pr.RecentActive()) return false;
  Result<Snapshot> snap = log_.CurrentSnapshot();
  if (!snap.IsOk()) return false;  // being rebuilt; the next heartbeat response retries
  CAIRN_ASSERT(!snap->Empty(), "raft: log compacted without a snapshot");
  pr.BecomeSnapshot(snap->meta.index);
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = std::move(snap).Value();
  Send(std::move(m));
  return true;
}

void Raft::BroadcastAppend() {
  for (auto& [id, pr] : progress_) {
    if (id != id_) SendAppend(id, true);
  }
}

uint64_t Raft::BroadcastHeartbeat() {
  const uint64_t round = read_only_.NextRound(ticks_);
  for (auto& [id, pr] : progress_) {
    if (id != id_) SendHeartbeat(id, round);
  }
  return round;
}

void Raft::SendHeartbeat(NodeId to, uint64_t round) {
  const Progress& pr = progress_.at(to);
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  // Never more than the follower is known to hold: its log may still differ beyond `match`.
  m.commit = std::min(pr.Match(), log_.Committed());
  m.round = round;
  Send(std::move(m));
}

void Raft::StepLeader(const Message& m) {
  if (m.type == MessageType::kReadIndex) {
    (void)HandleReadIndexRequest(m.from, m.context);
    return;
  }
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  if (m.type == MessageType::kAppendResponse) {
    HandleAppendResponse(m, it->second);
  } else if (m.type == MessageType::kHeartbeatResponse) {
    HandleHeartbeatResponse(m, it->second);
  }
}

void Raft::HandleAppendResponse(const Message& m, Progress& pr) {
  pr.SetRecentActive(true);
  if (m.reject) {
    Index hint = m.reject_hint;
    if (m.hint_term > Term(0)) hint = log_.FindConflictByTerm(m.reject_hint, m.hint_term);
    if (pr.MaybeDecreaseTo(m.index, hint)) {
      if (pr.State() == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from, true);
    }
    return;
  }
  const bool was_paused = pr.IsPaused();
  if (!pr.MaybeUpdate(m.index)) {
    if (was_paused && !pr.IsPaused()) SendAppend(m.from, false);
    return;
  }
  if (pr.State() == ProgressState::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.State() == ProgressState::kSnapshot && pr.Match() >= pr.PendingSnapshot()) {
    pr.BecomeProbe();
    pr.BecomeReplicate();
  }
  if (MaybeCommit()) {
    BroadcastAppend();
  } else if (was_paused) {
    // It may have missed a commit broadcast while paused; an empty append carries the index.
    SendAppend(m.from, true);
  }
  // Keep the pipeline full.
  while (progress_.count(m.from) && SendAppend(m.from, false)) {
  }
  auto it = progress_.find(m.from);
  if (it != progress_.end() && m.from == lead_transferee_ && !timeout_now_sent_ &&
      it->second.Match() == log_.LastIndex()) {
    SendTimeoutNow(m.from);
  }
}

void Raft::HandleHeartbeatResponse(const Message& m, Progress& pr) {
  pr.SetRecentActive(true);
  pr.AckRound(m.round);
  if (pr.OnHeartbeatResponse(pr.Match() < log_.LastIndex())) SendAppend(m.from, true);
  ConfirmReads();
}

bool Raft::MaybeCommit() {
  bool any = false;
  for (;;) {
    const Index quorum_index = QuorumIndex<Index>(config_.voters, [this](NodeId v) {
      auto it = progress_.find(v);
      return it == progress_.end() ? Index(0) : it->second.Match();
    });
    bool committed;
    if (cfg_.testing_bug == TestingBug::kCommitPreviousTermByCounting) {
      committed = quorum_index > log_.Committed() && quorum_index <= log_.LastIndex();
      if (committed) log_.CommitTo(quorum_index);
    } else {
      // Only an entry of the current term is committed by counting replicas (Raft §5.4.2).
      committed = log_.MaybeCommit(quorum_index, term_);
    }
    if (!committed) break;
    any = true;
    while (!uncommitted_sizes_.empty() && uncommitted_sizes_.begin()->first <= log_.Committed()) {
      uncommitted_bytes_ -= uncommitted_sizes_.begin()->second;
      uncommitted_sizes_.erase(uncommitted_sizes_.begin());
    }
    ApplyCommittedConfigChanges();  // may change the voter set, so count again
    if (role_ != Role::kLeader) break;
  }
  return any && role_ == Role::kLeader;
}

bool Raft::CommittedInCurrentTerm() const { return log_.TermOrZero(log_.Committed()) == term_; }

bool Raft::CheckQuorumActive() {
  const VoteResult r = TallyVotes(config_.voters, [this](NodeId v) {
    if (v == id_) return 1;
    auto it = progress_.find(v);
    return (it != progress_.end() && it->second.RecentActive()) ? 1 : 0;
  });
  for (auto& [id, pr] : progress_) {
    if (id != id_) pr.SetRecentActive(false);
  }
  return r == VoteResult::kWon;
}

Index Raft::SelfStableIndex() const { return log_.StableLastIndex(); }

// ---------------------------------------------------------------------------------------------
// Reads

Status Raft::ReadIndex(std::string context) {
  if (role_ == Role::kLeader) return HandleReadIndexRequest(id_, std::move(context));
  if (lead_ == kNoNode) return Status::Unavailable("raft: no known leader");
  Message m;
  m.type = MessageType::kReadIndex;
  m.to = lead_;
  m.context = std::move(context);
  Send(std::move(m));
  return OkStatus();
}

Status Raft::HandleReadIndexRequest(NodeId from, std::string context) {
  PendingRead read{0, log_.Committed(), std::move(context), from};
  // Until its no-op commits, a new leader does not know the latest commit index.
  if (!CommittedInCurrentTerm()) {
    if (from != id_) {
      Message resp;
      resp.type = MessageType::kReadIndexResponse;
      resp.to = from;
      resp.reject = true;
      resp.context = std::move(read.context);
      Send(std::move(resp));
    }
    return Status::Unavailable("raft: leader has not committed an entry of its term yet");
  }
  if (config_.voters.size() == 1 && IsVoter(config_, id_)) {
    ReleaseRead(read);
    return OkStatus();
  }
  if (cfg_.read_mode == ReadMode::kLease && LeaseValid()) {
    ReleaseRead(read);
    return OkStatus();
  }
  if (read_only_.Full()) return Status::ResourceExhausted("raft: pending ReadIndex requests at their limit");
  read.round = BroadcastHeartbeat();
  read_only_.Add(std::move(read));
  return OkStatus();
}

void Raft::ConfirmReads() {
  if (role_ != Role::kLeader || read_only_.PendingCount() == 0) return;
  const uint64_t current = read_only_.CurrentRound();
  const uint64_t round =
      QuorumIndex<uint64_t>(config_.voters, [this, current](NodeId v) { return RoundOf(progress_, v, id_, current); });
  for (const PendingRead& read : read_only_.Confirm(round)) ReleaseRead(read);
}

void Raft::ReleaseRead(const PendingRead& read) {
  if (read.from == id_) {
    read_states_.push_back(ReadState{read.index, read.context});
    return;
  }
  Message resp;
  resp.type = MessageType::kReadIndexResponse;
  resp.to = read.from;
  resp.index = read.index;
  resp.context = read.context;
  Send(std::move(resp));
}

// The lease. A follower that acknowledged heartbeat round r (sent at leader tick t) reset its
// election timer when it received it, and refuses to vote for anyone else (InLease) until
// election_timeout_ticks of its own ticks have passed — also right after a restart, since
// lease reads make a restarted node wait that long before voting. A quorum acknowledging r
// therefore means no other leader can exist before t + election_timeout_ticks in follower
// ticks. The leader serves lease reads only until t + election_timeout_ticks -
// lease_drift_margin_ticks in its own ticks. That is safe as long as no follower's clock runs
// faster than the leader's by more than the factor
//     election_timeout_ticks / (election_timeout_ticks - lease_drift_margin_ticks)
// (10 / 8 = 25% with the defaults), and ticks are delivered without long stalls. Leadership
// transfer bypasses followers' leases, so a leader stops serving lease reads once it sends
// TimeoutNow.
bool Raft::LeaseValid() const {
  if (role_ != Role::kLeader || cfg_.read_mode != ReadMode::kLease || !cfg_.check_quorum) return false;
  if (lease_disabled_ || lead_transferee_ != kNoNode || !CommittedInCurrentTerm()) return false;
  const uint64_t current = read_only_.CurrentRound();
  const uint64_t round =
      QuorumIndex<uint64_t>(config_.voters, [this, current](NodeId v) { return RoundOf(progress_, v, id_, current); });
  const std::optional<uint64_t> sent = read_only_.RoundSentTick(round);
  if (!sent) return false;
  return ticks_ < *sent + cfg_.election_timeout_ticks - cfg_.lease_drift_margin_ticks;
}

// ---------------------------------------------------------------------------------------------
// Leadership transfer

Status Raft::TransferLeadership(NodeId target) {
  if (role_ != Role::kLeader) return Status::Unavailable("raft: not the leader");
  if (target == id_) return OkStatus();
  if (!IsVoter(config_, target)) return Status::InvalidArgument("raft: transfer target is not a voter");
  if (lead_transferee_ == target) return OkStatus();
  AbortTransfer();
  lead_transferee_ = target;
  // The transfer must finish within one election timeout, or it is abandoned (TickHeartbeat).
  election_elapsed_ = 0;
  if (progress_.at(target).Match() == log_.LastIndex()) {
    SendTimeoutNow(target);
  } else {
    SendAppend(target, true);
  }
  return OkStatus();
}

void Raft::SendTimeoutNow(NodeId to) {
  lease_disabled_ = true;
  timeout_now_sent_ = true;
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  Send(std::move(m));
}

void Raft::ReportSnapshotFailed(NodeId to) {
  if (role_ != Role::kLeader) return;
  auto it = progress_.find(to);
  if (it != progress_.end() && it->second.State() == ProgressState::kSnapshot) it->second.BecomeProbe();
}

// ---------------------------------------------------------------------------------------------
// Membership

void Raft::NoteConfigEntries(const std::vector<Entry>& entries) {
  // Entries past the end were truncated away; entries just written replace what was there.
  pending_config_entries_.erase(pending_config_entries_.upper_bound(log_.LastIndex()), pending_config_entries_.end());
  for (const Entry& e : entries) {
    if (e.index <= config_applied_index_) continue;  // already in effect (a duplicate append)
    if (e.type == EntryType::kConfigChange) {
      Result<ConfigChange> cc = DecodeConfigChange(e.data);
      CAIRN_ASSERT(cc.IsOk(), "raft: undecodable config change in the log: " + cc.GetStatus().ToString());
      pending_config_entries_[e.index] = *cc;
    } else {
      pending_config_entries_.erase(e.index);
    }
  }
}

void Raft::ApplyCommittedConfigChanges() {
  while (!pending_config_entries_.empty() && pending_config_entries_.begin()->first <= log_.Committed()) {
    const ConfigChange cc = pending_config_entries_.begin()->second;
    config_applied_index_ = pending_config_entries_.begin()->first;
    pending_config_entries_.erase(pending_config_entries_.begin());
    ApplyConfigChange(cc);
  }
}

void Raft::ApplyConfigChange(const ConfigChange& change) {
  auto erase = [](std::vector<NodeId>& v, NodeId id) { v.erase(std::remove(v.begin(), v.end(), id), v.end()); };
  switch (change.type) {
    case ConfigChangeType::kAddLearner:
      if (IsVoter(config_, change.node) || IsLearner(config_, change.node)) return;
      config_.learners.push_back(change.node);
      if (role_ == Role::kLeader) AddProgress(change.node, true);
      break;
    case ConfigChangeType::kPromote:
      if (!IsLearner(config_, change.node)) return;
      erase(config_.learners, change.node);
      config_.voters.push_back(change.node);
      if (role_ == Role::kLeader && progress_.count(change.node)) progress_.at(change.node).SetLearner(false);
      break;
    case ConfigChangeType::kRemove:
      erase(config_.voters, change.node);
      erase(config_.learners, change.node);
      if (role_ == Role::kLeader) progress_.erase(change.node);
      if (lead_transferee_ == change.node) AbortTransfer();
      break;
  }
  std::sort(config_.voters.begin(), config_.voters.end());
  std::sort(config_.learners.begin(), config_.learners.end());
  if (role_ == Role::kLeader && !IsVoter(config_, id_)) {
    // Removed: stop leading; the remaining voters elect a successor.
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::AddProgress(NodeId id, bool learner) {
  Progress pr(log_.LastIndex().Next(), cfg_.inflight_messages_max, cfg_.inflight_bytes_max, learner);
  // A fresh follower gets a full election timeout before check-quorum counts it as silent.
  pr.SetRecentActive(true);
  progress_.emplace(id, std::move(pr));
}

}  // namespace cairn::raft
