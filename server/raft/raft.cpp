// Raft core: construction, Ready/Advance, ticks, elections and message dispatch. Leader-side
// replication, reads, membership and transfer live in raft_leader.cpp.
#include "server/raft/raft.h"

#include <algorithm>

#include "server/raft/message_codec.h"
#include "server/raft/quorum.h"

namespace cairn::raft {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

Result<std::unique_ptr<Raft>> Raft::Create(const RaftConfig& config, const Storage& storage) {
  if (config.id == kNoNode) return Status::InvalidArgument("raft: node id 0 is reserved");
  if (config.heartbeat_ticks == 0 || config.election_timeout_ticks <= config.heartbeat_ticks) {
    return Status::InvalidArgument("raft: need 0 < heartbeat_ticks < election_timeout_ticks");
  }
  if (config.inflight_messages_max == 0) return Status::InvalidArgument("raft: inflight_messages_max must be > 0");
  if (config.read_mode == ReadMode::kLease && !config.check_quorum) {
    return Status::InvalidArgument("raft: lease reads need check_quorum");
  }
  if (config.lease_drift_margin_ticks >= config.election_timeout_ticks) {
    return Status::InvalidArgument("raft: lease_drift_margin_ticks must be < election_timeout_ticks");
  }
  std::unique_ptr<Raft> raft(new Raft(config, storage));
  CAIRN_RETURN_IF_ERROR(raft->Restore());
  return raft;
}

Raft::Raft(const RaftConfig& config, const Storage& storage)
    : cfg_(config),
      id_(config.id),
      storage_(storage),
      log_(storage),
      prng_(config.seed ^ (config.id.value * 0x9e3779b97f4a7c15ULL)) {}

Status Raft::Restore() {
  Result<InitialState> init = storage_.GetInitialState();
  if (!init.IsOk()) return init.GetStatus().WithContext("raft: reading initial state");
  const HardState& hs = init->hard_state;
  const SnapshotMeta& snap = init->snapshot;
  if (snap.index > log_.LastIndex() || hs.commit > log_.LastIndex() || snap.index < log_.FirstIndex().Prev()) {
    return Status::Corruption("raft: snapshot index " + std::to_string(snap.index.value) + " or commit " +
                              std::to_string(hs.commit.value) + " outside the stored log [" +
                              std::to_string(log_.FirstIndex().value) + ", " + std::to_string(log_.LastIndex().value) +
                              "]");
  }
  config_ = snap.configuration;
  config_applied_index_ = snap.index;
  term_ = hs.term;
  vote_ = hs.vote;
  log_.CommitTo(std::max(hs.commit, snap.index));
  log_.AppliedTo(snap.index);
  // Rebuild membership: replay config changes recorded after the snapshot.
  for (Index lo = log_.FirstIndex(); lo <= log_.LastIndex();) {
    Result<std::vector<Entry>> batch = log_.Slice(lo, log_.LastIndex().Next(), cfg_.append_bytes_max);
    if (!batch.IsOk()) return batch.GetStatus().WithContext("raft: reading the log");
    NoteConfigEntries(*batch);
    lo = batch->back().index.Next();
  }
  ApplyCommittedConfigChanges();
  if (cfg_.applied > Index(0)) {
    if (cfg_.applied > log_.Committed() || cfg_.applied < snap.index) {
      return Status::InvalidArgument("raft: applied index outside [snapshot, commit]");
    }
    log_.AppliedTo(cfg_.applied);
  }
  BecomeFollower(term_, kNoNode);
  prev_hard_ = GetHardState();
  prev_soft_ = SoftState{lead_, role_};
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Ready / Advance

bool Raft::HasReady() const {
  if (ready_in_flight_) return false;
  if (SoftState{lead_, role_} != prev_soft_ || GetHardState() != prev_hard_) return true;
  if (!log_.UnstableEntries().empty() || log_.UnstableSnapshot()) return true;
  if (!msgs_.empty() || !early_msgs_.empty() || !read_states_.empty()) return true;
  return log_.HasNextCommittedEntries();
}

Ready Raft::GetReady() {
  CAIRN_ASSERT(!ready_in_flight_, "GetReady before Advance of the previous Ready");
  Ready rd;
  const SoftState ss{lead_, role_};
  if (ss != prev_soft_) rd.soft_state = prev_soft_ = ss;
  const HardState hs = GetHardState();
  rd.must_sync = hs.term != prev_hard_.term || hs.vote != prev_hard_.vote;
  if (hs != prev_hard_) rd.hard_state = prev_hard_ = hs;
  rd.entries = log_.UnstableEntries();
  if (log_.UnstableSnapshot()) rd.snapshot = *log_.UnstableSnapshot();
  rd.must_sync = rd.must_sync || !rd.entries.empty() || rd.snapshot.has_value();
  rd.committed_entries = log_.NextCommittedEntries(cfg_.committed_bytes_per_ready_max);
  rd.messages = std::move(msgs_);
  rd.early_messages = std::move(early_msgs_);
  rd.read_states = std::move(read_states_);
  msgs_.clear();
  early_msgs_.clear();
  read_states_.clear();

  ready_in_flight_ = true;
  ready_last_entry_.reset();
  if (!rd.entries.empty()) ready_last_entry_ = LogPosition{rd.entries.back().term, rd.entries.back().index};
  ready_snapshot_index_ = rd.snapshot ? rd.snapshot->meta.index : Index(0);
  ready_applied_to_ = !rd.committed_entries.empty() ? rd.committed_entries.back().index : ready_snapshot_index_;
  return rd;
}

void Raft::Advance() {
  CAIRN_ASSERT(ready_in_flight_, "Advance without a Ready");
  ready_in_flight_ = false;
  if (ready_snapshot_index_ > Index(0)) log_.StableSnapshotTo(ready_snapshot_index_);
  if (ready_last_entry_) log_.StableTo(ready_last_entry_->index, ready_last_entry_->term);
  if (ready_applied_to_ > Index(0)) log_.AppliedTo(ready_applied_to_);
  ready_last_entry_.reset();
  ready_snapshot_index_ = Index(0);
  ready_applied_to_ = Index(0);
  if (role_ == Role::kLeader) {
    // The leader's own write is durable now: only from here does it count toward commit.
    auto self = progress_.find(id_);
    if (self != progress_.end()) self->second.MaybeUpdate(SelfStableIndex());
    if (MaybeCommit()) BroadcastAppend();
  }
}

// ---------------------------------------------------------------------------------------------
// Roles

void Raft::Reset(Term term) {
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedTimeout();
  AbortTransfer();
  votes_.clear();
  progress_.clear();
  read_only_.Reset();
  lease_disabled_ = false;
  uncommitted_sizes_.clear();
  uncommitted_bytes_ = 0;
  pending_config_index_ = Index(0);
}

void Raft::ResetRandomizedTimeout() {
  const uint32_t et = cfg_.election_timeout_ticks;
  randomized_election_timeout_ = et + static_cast<uint32_t>(prng_.Below(et));
}

void Raft::BecomeFollower(Term term, NodeId leader) {
  Reset(term);
  role_ = Role::kFollower;
  lead_ = leader;
}

void Raft::BecomePreCandidate() {
  CAIRN_ASSERT(role_ != Role::kLeader, "a leader cannot pre-campaign");
  // Pre-vote changes neither term nor vote: a partitioned node rejoining must not disrupt.
  votes_.clear();
  role_ = Role::kPreCandidate;
  lead_ = kNoNode;
}

void Raft::BecomeCandidate() {
  CAIRN_ASSERT(role_ != Role::kLeader, "a leader cannot campaign");
  Reset(term_.Next());
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  CAIRN_ASSERT(role_ == Role::kCandidate, "only a candidate becomes leader");
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  for (NodeId v : config_.voters) AddProgress(v, false);
  for (NodeId l : config_.learners) AddProgress(l, true);
  Progress& self = progress_.at(id_);
  self.BecomeReplicate();
  self.MaybeUpdate(SelfStableIndex());
  // Any config change still in the log may not be committed yet; none may follow it until it is.
  pending_config_index_ = log_.LastIndex();
  // The no-op lets the leader commit (and so learn the commit index of) earlier terms' entries.
  AppendEntries({Entry{term_, Index(0), EntryType::kNormal, {}}});
}

bool Raft::Promotable() const { return IsVoter(config_, id_) && !log_.UnstableSnapshot(); }

bool Raft::InLease() const {
  if (!cfg_.check_quorum) return false;
  // A restarted node does not know whether it promised a lease; lease reads need it to wait.
  if (cfg_.read_mode == ReadMode::kLease && ticks_ < cfg_.election_timeout_ticks) return true;
  return lead_ != kNoNode && election_elapsed_ < cfg_.election_timeout_ticks;
}

// ---------------------------------------------------------------------------------------------
// Ticks and elections

void Raft::Tick() {
  ++ticks_;
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  if (Promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    CampaignNow(cfg_.pre_vote, false);
  }
}

void Raft::TickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_timeout_ticks) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum && !CheckQuorumActive()) {
      BecomeFollower(term_, kNoNode);
      return;
    }
    AbortTransfer();  // a transfer that did not finish within an election timeout failed
  }
  for (auto& [id, pr] : progress_) {
    if (pr.State() != ProgressState::kSnapshot) continue;
    pr.TickSnapshotWait();
    // The snapshot (or its answer) was probably lost: probe again, which re-sends it.
    if (pr.SnapshotWaitTicks() > 3ULL * cfg_.election_timeout_ticks) pr.BecomeProbe();
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

Status Raft::Campaign() {
  if (role_ == Role::kLeader) return OkStatus();
  if (!Promotable()) return Status::FailedPrecondition("raft: this node cannot campaign (not a voter)");
  CampaignNow(cfg_.pre_vote, false);
  return OkStatus();
}

void Raft::CampaignNow(bool pre_vote, bool transfer) {
  MessageType type;
  Term term;
  if (pre_vote) {
    BecomePreCandidate();
    type = MessageType::kPreVote;
    term = term_.Next();
  } else {
    BecomeCandidate();
    type = MessageType::kVote;
    term = term_;
  }
  votes_[id_] = 1;
  if (TallyVotes(config_.voters, [this](NodeId v) { return votes_.count(v) ? votes_[v] : 0; }) == VoteResult::kWon) {
    if (pre_vote) {
      CampaignNow(false, transfer);
    } else {
      BecomeLeader();
      BroadcastAppend();
    }
    return;
  }
  for (NodeId v : config_.voters) {
    if (v == id_) continue;
    Message m;
    m.type = type;
    m.to = v;
    m.term = term;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    m.transfer = transfer;
    Send(std::move(m));
  }
}

// ---------------------------------------------------------------------------------------------
// Step

Status Raft::Step(const Message& m) {
  if (m.to != id_) return Status::InvalidArgument("raft: message for another node");
  if (m.from == kNoNode || m.term == Term(0)) return Status::InvalidArgument("raft: message without sender or term");
  CAIRN_RETURN_IF_ERROR(ValidateMessage(m));
  if (!StepTerm(m)) return OkStatus();
  if (m.type == MessageType::kPreVote || m.type == MessageType::kVote) {
    HandleVoteRequest(m);
  } else {
    switch (role_) {
      case Role::kLeader: StepLeader(m); break;
      case Role::kCandidate:
      case Role::kPreCandidate: StepCandidate(m); break;
      case Role::kFollower: StepFollower(m); break;
    }
  }
  ApplyCommittedConfigChanges();
  return OkStatus();
}

// Structural checks, so a malformed message is refused instead of tripping an invariant.
Status Raft::ValidateMessage(const Message& m) {
  if (m.type == MessageType::kAppend) {
    if (m.log_term > m.term) return Status::InvalidArgument("raft: append with prev term beyond its term");
    Index expect = m.index.Next();
    Term prev = m.log_term;
    for (const Entry& e : m.entries) {
      if (e.index != expect) return Status::InvalidArgument("raft: append entries are not contiguous");
      if (e.term < prev || e.term > m.term) return Status::InvalidArgument("raft: append entry terms out of order");
      expect = expect.Next();
      prev = e.term;
    }
  }
  if (m.type == MessageType::kSnapshot && (m.snapshot.meta.index == Index(0) || m.snapshot.meta.term > m.term)) {
    return Status::InvalidArgument("raft: snapshot message without a valid snapshot");
  }
  return OkStatus();
}

bool Raft::StepTerm(const Message& m) {
  const bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    // While we hear from a live leader, ignore candidates (unless the leader sent them).
    if (vote_request && !m.transfer && InLease()) return false;
    if (m.type == MessageType::kPreVote) return true;                       // pre-vote never bumps our term
    if (m.type == MessageType::kPreVoteResponse && !m.reject) return true;  // our own future term
    const bool from_leader =
        m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat || m.type == MessageType::kSnapshot;
    BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    return true;
  }
  if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) && (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A leader cut off by a partition may be unable to learn our term otherwise (its
      // candidates' votes are ignored under pre-vote); tell it so it steps down.
      Message resp;
      resp.type = MessageType::kAppendResponse;
      resp.to = m.from;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResponse;
      resp.to = m.from;
      resp.reject = true;
      Send(std::move(resp));
    }
    return false;
  }
  return true;
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) || (pre && m.term > term_);
  const bool up_to_date = cfg_.testing_bug == TestingBug::kVoteWithoutLogCheck || log_.IsUpToDate(m.index, m.log_term);
  Message resp;
  resp.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  resp.to = m.from;
  if (can_vote && up_to_date) {
    resp.term = m.term;  // a pre-vote grant names the term the candidate will campaign at
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    resp.term = term_;
    resp.reject = true;
  }
  Send(std::move(resp));
}

void Raft::HandleVoteResponse(const Message& m) {
  votes_[m.from] = m.reject ? -1 : 1;
  const VoteResult result = TallyVotes(config_.voters, [this](NodeId v) { return votes_.count(v) ? votes_[v] : 0; });
  if (result == VoteResult::kWon) {
    if (role_ == Role::kPreCandidate) {
      CampaignNow(false, false);
    } else {
      BecomeLeader();
      BroadcastAppend();
    }
  } else if (result == VoteResult::kLost) {
    BecomeFollower(term_, kNoNode);
  }
}

void Raft::StepCandidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // Someone won this term: follow it.
      BecomeFollower(m.term, m.from);
      StepFollower(m);
      return;
    case MessageType::kPreVoteResponse:
      if (role_ == Role::kPreCandidate) HandleVoteResponse(m);
      return;
    case MessageType::kVoteResponse:
      if (role_ == Role::kCandidate) HandleVoteResponse(m);
      return;
    default: return;
  }
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      return;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      return;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      return;
    case MessageType::kTimeoutNow:
      // The leader asked us to take over: campaign now, skipping pre-vote and the lease.
      if (Promotable()) CampaignNow(false, true);
      return;
    case MessageType::kReadIndexResponse: HandleReadIndexResponse(m); return;
    default: return;
  }
}

void Raft::HandleAppend(const Message& m) {
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  if (m.index < log_.Committed()) {
    resp.index = log_.Committed();
    Send(std::move(resp));
    return;
  }
  std::optional<Index> last = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries);
  if (last) {
    NoteConfigEntries(m.entries);
    resp.index = *last;
  } else {
    // Point the leader at the last index whose term could match, skipping whole terms.
    const Index hint = log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
    resp.index = m.index;
    resp.reject = true;
    resp.reject_hint = hint;
    resp.hint_term = log_.TermOrZero(hint);
  }
  Send(std::move(resp));
}

void Raft::HandleHeartbeat(const Message& m) {
  // The leader never sends a commit beyond what we acknowledged holding.
  log_.CommitTo(std::min(m.commit, log_.LastIndex()));
  Message resp;
  resp.type = MessageType::kHeartbeatResponse;
  resp.to = m.from;
  resp.round = m.round;
  Send(std::move(resp));
}

void Raft::HandleSnapshot(const Message& m) {
  const SnapshotMeta& meta = m.snapshot.meta;
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.to = m.from;
  if (meta.index <= log_.Committed()) {
    resp.index = log_.Committed();
  } else if (log_.MatchTerm(meta.index, meta.term)) {
    // We already hold the covered entries: just learn that they are committed.
    log_.CommitTo(meta.index);
    resp.index = log_.LastIndex();
  } else {
    log_.Restore(m.snapshot);
    config_ = meta.configuration;
    config_applied_index_ = meta.index;
    pending_config_entries_.clear();
    resp.index = log_.LastIndex();
  }
  Send(std::move(resp));
}

void Raft::HandleReadIndexResponse(const Message& m) {
  if (m.reject) return;  // the requester times out and retries, as with a lost message
  read_states_.push_back(ReadState{m.index, m.context});
}

void Raft::Send(Message m) {
  m.from = id_;
  if (m.term == Term(0)) m.term = term_;
  const bool leader_output =
      role_ == Role::kLeader && (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
                                 m.type == MessageType::kSnapshot || m.type == MessageType::kTimeoutNow);
  const bool buggy_ack =
      cfg_.testing_bug == TestingBug::kAckAppendBeforePersist && m.type == MessageType::kAppendResponse && !m.reject;
  if (leader_output || buggy_ack) {
    early_msgs_.push_back(std::move(m));
  } else {
    msgs_.push_back(std::move(m));
  }
}

std::vector<ProgressView> Raft::Progresses() const {
  std::vector<ProgressView> out;
  for (const auto& [id, pr] : progress_) {
    out.push_back(ProgressView{id, pr.Match(), pr.Next(), pr.State(), pr.IsLearner()});
  }
  return out;
}

}  // namespace cairn::raft
