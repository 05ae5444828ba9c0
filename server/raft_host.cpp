#include "server/raft_host.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>

#include "common/codec.h"
#include "common/thread_name.h"
#include "server/raft/message_codec.h"

namespace cairn::server {
namespace {

// How long the storage thread keeps retrying a post into a saturated loop before giving up:
// a completion that never arrives would stall the replica silently, so it crashes instead.
constexpr auto kPostRetryFor = std::chrono::seconds(60);

void PostFromStorageThread(Env& env, std::function<void()> fn) {
  const auto deadline = std::chrono::steady_clock::now() + kPostRetryFor;
  while (true) {
    Status posted = env.Post(fn);
    if (posted.IsOk() || posted.Code() == StatusCode::kUnavailable) return;  // unavailable: shutting down
    CAIRN_ASSERT(std::chrono::steady_clock::now() < deadline, "loop post queue stayed full: " + posted.ToString());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string_view RoleText(raft::Role role) { return raft::RoleName(role); }

}  // namespace

// The storage thread: runs jobs (RocksDB writes) in order, one at a time, from a bounded queue.
class RaftHost::StorageWorker {
 public:
  explicit StorageWorker(size_t queue_max)
      : queue_max_(queue_max), thread_([this] {
          NameThisThread("cairn-raft-disk");
          Run();
        }) {}
  // Finishes every queued job, then joins.
  ~StorageWorker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  Status Submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.size() >= queue_max_) {
        return Status::ResourceExhausted("raft host: storage_queue_max (" + std::to_string(queue_max_) + ") reached");
      }
      queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return OkStatus();
  }

 private:
  void Run() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  const size_t queue_max_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::thread thread_;                       // last: starts once the rest is built
};

Result<std::unique_ptr<RaftHost>> RaftHost::Open(Env& env, Logger& logger, StateMachine& state_machine,
                                                 RaftHostOptions options) {
  if (options.peers.find(options.raft.id) == options.peers.end()) {
    return Status::InvalidArgument("raft host: the peer list does not name this replica " +
                                   std::to_string(options.raft.id.value));
  }
  std::unique_ptr<RaftHost> host(new RaftHost(env, logger, state_machine, std::move(options)));
  CAIRN_RETURN_IF_ERROR(host->Start());
  return host;
}

RaftHost::RaftHost(Env& env, Logger& logger, StateMachine& state_machine, RaftHostOptions options)
    : env_(env),
      logger_(logger),
      state_machine_(state_machine),
      options_(std::move(options)),
      alive_(std::make_shared<RaftHost*>(this)) {}

RaftHost::~RaftHost() {
  alive_.reset();  // completions posted from now on find nothing
  if (tick_timer_ != 0) env_.CancelTimer(tick_timer_);
  worker_.reset();  // waits for the write in progress
}

Status RaftHost::Start() {
  raft::LogStoreOptions store_options;
  store_options.sync = options_.sync;
  CAIRN_ASSIGN_OR_RETURN(storage_, raft::DurableStorage::Open(options_.data_dir, store_options));
  addresses_ = options_.peers;
  if (storage_->IsNew() && !options_.join) {
    raft::Configuration founding;
    for (const auto& [id, address] : options_.peers) founding.voters.push_back(id);
    CAIRN_RETURN_IF_ERROR(storage_->Bootstrap(founding, TakeHostSnapshot(founding)));
    logger_.Info("bootstrapped a new replica", {{"voters", founding.voters.size()}});
  }
  CAIRN_ASSIGN_OR_RETURN(raft::Snapshot snapshot, storage_->GetSnapshot());
  CAIRN_RETURN_IF_ERROR(RestoreHostSnapshot(snapshot.data));
  applied_ = snapshot.meta.index;
  if (const raft::Index kept = state_machine_.DurableApplied(); kept > applied_) {
    // The machine's own durable state is newer than the snapshot: resume after it (from at
    // most the lazily written commit index) instead of replaying the log from the snapshot.
    applied_ = std::min(kept, std::max(storage_->GetHardState().commit, snapshot.meta.index));
  }
  snapshot_index_ = snapshot.meta.index;
  NoteStoredMembers();
  submitted_hard_state_ = storage_->GetHardState();
  options_.raft.applied = applied_;
  CAIRN_ASSIGN_OR_RETURN(raft_, raft::Raft::Create(options_.raft, *storage_));

  transport_ = std::make_unique<raft::PeerTransport>(
      env_, Id(), logger_, [this](raft::NodeId from, std::string_view bytes) { OnPeerMessage(from, bytes); },
      options_.transport);
  CAIRN_RETURN_IF_ERROR(transport_->Listen(options_.peers.at(Id())));
  SyncTransportPeers();
  worker_ = std::make_unique<StorageWorker>(options_.storage_queue_max);
  last_leader_contact_ = env_.Now();
  ScheduleTick();
  logger_.Info("raft replica started", {{"term", raft_->CurrentTerm().value},
                                        {"commit", raft_->Log().Committed().value},
                                        {"last_index", storage_->LastIndex().value},
                                        {"snapshot_index", snapshot_index_.value}});
  return OkStatus();
}

std::function<void()> RaftHost::Guarded(std::function<void()> fn) {
  return [alive = std::weak_ptr<RaftHost*>(alive_), fn = std::move(fn)] {
    if (alive.lock()) fn();
  };
}

void RaftHost::ScheduleTick() {
  tick_timer_ = env_.StartTimer(options_.tick_interval, Guarded([this] {
                                  tick_timer_ = 0;
                                  ++ticks_;
                                  raft_->Tick();
                                  ExpireReads();
                                  TryPromote();
                                  SchedulePump();
                                  ScheduleTick();
                                }));
}

namespace {
// The first byte of a host message; Raft's messages start with their codec version (1).
constexpr char kHostMessageTag = static_cast<char>(0xC8);
static_assert(static_cast<uint8_t>(kHostMessageTag) != raft::kMessageCodecVersion);
}  // namespace

bool RaftHost::SendHostMessage(raft::NodeId to, std::string_view bytes) {
  std::string frame;
  frame.reserve(bytes.size() + 1);
  frame += kHostMessageTag;
  frame += bytes;
  return transport_->Send(to, frame);
}

void RaftHost::OnPeerMessage(raft::NodeId from, std::string_view bytes) {
  if (!bytes.empty() && bytes.front() == kHostMessageTag) {
    if (host_message_) host_message_(from, bytes.substr(1));
    return;
  }
  Result<raft::Message> message = raft::DecodeMessage(bytes);
  if (!message.IsOk()) {
    logger_.WarnRateLimited("raft-decode", "undecodable raft message",
                            {{"peer", from.value}, {"error", message.GetStatus().ToString()}});
    return;
  }
  if (message->from != from) {
    logger_.WarnRateLimited("raft-from", "raft message names another sender",
                            {{"peer", from.value}, {"claimed", message->from.value}});
    return;
  }
  Status stepped = raft_->Step(*message);
  // After Step: a message from a new term's leader has made it the leader, one from a deposed
  // leader has not.
  if (from == raft_->Leader()) last_leader_contact_ = env_.Now();
  if (!stepped.IsOk()) {
    logger_.WarnRateLimited("raft-step", "raft message refused", {{"peer", from.value}, {"error", stepped.ToString()}});
  }
  SchedulePump();
}

void RaftHost::Propose(std::string command, ProposeFn done) {
  if (pending_count_ >= options_.pending_proposals_max) {
    done(Status::ResourceExhausted("raft host: pending_proposals_max (" +
                                   std::to_string(options_.pending_proposals_max) + ") reached"));
    return;
  }
  if (command.empty()) {
    done(Status::InvalidArgument("raft host: empty commands are not allowed"));
    return;
  }
  if (raft_->GetRole() != raft::Role::kLeader) {
    done(Status::Unavailable("raft: not the leader"));
    return;
  }
  queued_bytes_ += command.size();
  queued_.push_back(QueuedCommand{std::move(command), std::move(done)});
  ++pending_count_;
  SchedulePump();
}

void RaftHost::ProposeQueued() {
  // Callbacks below may propose again; they queue for the next round.
  std::vector<QueuedCommand> queued = std::move(queued_);
  queued_.clear();
  queued_bytes_ = 0;
  for (size_t first = 0; first < queued.size();) {
    size_t end = first;
    size_t bytes = 0;
    while (end < queued.size() && (end == first || bytes + queued[end].command.size() <= options_.batch_bytes_max)) {
      bytes += queued[end++].command.size();
    }
    Encoder batch;
    batch.PutVarint64(end - first);
    std::vector<ProposeFn> done;
    done.reserve(end - first);
    for (size_t i = first; i < end; ++i) {
      batch.PutBytes(queued[i].command);
      done.push_back(std::move(queued[i].done));
    }
    first = end;
    Result<raft::LogPosition> position = raft_->Propose(batch.Take());
    if (!position.IsOk()) {
      pending_count_ -= done.size();
      FailEach(done, position.GetStatus());
      continue;
    }
    auto [it, inserted] = proposals_.try_emplace(position->index, PendingProposal{position->term, {}});
    if (!inserted) {
      // The log was overwritten at this index since: the older proposals there are lost.
      std::vector<ProposeFn> replaced = std::move(it->second.done);
      pending_count_ -= replaced.size();
      FailEach(replaced, Status::Aborted("raft host: entry was replaced by a new leader's entry"));
    }
    it->second = PendingProposal{position->term, std::move(done)};
  }
}

void RaftHost::ReadIndex(ReadFn done) {
  if (reads_waiting_.size() + reads_ready_.size() >= options_.pending_reads_max) {
    done(Status::ResourceExhausted("raft host: pending_reads_max (" + std::to_string(options_.pending_reads_max) +
                                   ") reached"));
    return;
  }
  Encoder context;
  context.PutFixed64(next_read_context_++);
  std::string key = context.Take();
  Status requested = raft_->ReadIndex(key);
  if (!requested.IsOk()) {
    done(requested);
    return;
  }
  reads_waiting_.emplace(std::move(key),
                         WaitingRead{std::move(done), raft_->Leader(), ticks_ + options_.read_timeout_ticks});
  SchedulePump();
}

Status RaftHost::Campaign() {
  Status status = raft_->Campaign();
  SchedulePump();
  return status;
}

void RaftHost::SchedulePump() {
  // Inputs of one loop iteration share one Ready; while a write is in flight its completion
  // pumps, so nothing needs scheduling until then.
  if (pump_scheduled_ || persist_in_flight_) return;
  Status posted = env_.Post(Guarded([this] { Pump(); }));
  if (posted.IsOk()) pump_scheduled_ = true;
}

void RaftHost::Pump() {
  pump_scheduled_ = false;
  while (!persist_in_flight_) {
    if (!queued_.empty()) ProposeQueued();
    if (!raft_->HasReady()) return;
    raft::Ready ready = raft_->GetReady();
    ++stats_.readies;
    if (ready.soft_state) NoteSoftState(*ready.soft_state);
    Send(ready.early_messages);
    raft::SaveRequest request = TakeDurablePart(ready);
    if (request.Empty()) {
      FinishReady(ready);
      continue;
    }
    persist_in_flight_ = true;
    if (request.hard_state) submitted_hard_state_ = *request.hard_state;
    auto in_flight = std::make_shared<InFlight>(InFlight{std::move(ready), std::move(request)});
    raft::DurableStorage* storage = storage_.get();
    Env* env = &env_;
    std::weak_ptr<RaftHost*> alive = alive_;
    Status submitted = worker_->Submit([storage, env, alive, in_flight] {
      Status status = storage->Persist(in_flight->request);
      PostFromStorageThread(*env, [alive, in_flight, status] {
        if (auto self = alive.lock()) (*self)->OnPersisted(status, std::move(*in_flight));
      });
    });
    CAIRN_ASSERT(submitted.IsOk(), "one Ready at a time cannot fill the storage queue: " + submitted.ToString());
    // The storage thread only reads in_flight->request; the Ready itself stays ours.
    ApplyDurableCommitted(in_flight->ready, in_flight->request);
    return;
  }
}

raft::SaveRequest RaftHost::TakeDurablePart(raft::Ready& ready) {
  raft::SaveRequest request;
  request.snapshot = ready.snapshot;
  request.entries = std::move(ready.entries);
  ready.entries.clear();
  if (ready.hard_state) {
    const raft::HardState& hs = *ready.hard_state;
    const bool commit_only = hs.term == submitted_hard_state_.term && hs.vote == submitted_hard_state_.vote;
    if (commit_only && request.entries.empty() && !request.snapshot) {
      lazy_hard_state_ = hs;
    } else {
      request.hard_state = hs;
    }
  }
  if (!request.hard_state && lazy_hard_state_ && !request.Empty()) request.hard_state = lazy_hard_state_;
  if (request.hard_state) lazy_hard_state_.reset();
  return request;
}

void RaftHost::OnPersisted(Status status, InFlight in_flight) {
  // A replica that cannot make its log durable must stop: carrying on could acknowledge what
  // is not on disk.
  CAIRN_ASSERT(status.IsOk(), "raft log write failed: " + status.ToString());
  persist_in_flight_ = false;
  ++stats_.persists;
  stats_.persisted_entries += in_flight.request.entries.size();
  Status mirrored = storage_->ApplyPersisted(in_flight.request);
  CAIRN_ASSERT(mirrored.IsOk(), "raft storage memory view rejected a persisted batch: " + mirrored.ToString());
  FinishReady(in_flight.ready);
  Pump();
}

void RaftHost::ApplyDurableCommitted(const raft::Ready& ready, const raft::SaveRequest& request) {
  if (ready.snapshot) return;  // the snapshot must be restored first, after its write
  // Entries from the first one this Ready writes are not durable here yet.
  const raft::Index durable_last = request.entries.empty()
                                       ? storage_->LastIndex()
                                       : std::min(storage_->LastIndex(), request.entries.front().index.Prev());
  size_t count = 0;
  while (count < ready.committed_entries.size() && ready.committed_entries[count].index <= durable_last) ++count;
  ApplyEntries(std::span<const raft::Entry>(ready.committed_entries.data(), count));
}

void RaftHost::FinishReady(raft::Ready& ready) {
  Send(ready.messages);
  if (ready.snapshot) RestoreSnapshot(*ready.snapshot);
  ApplyEntries(ready.committed_entries);
  for (raft::ReadState& read : ready.read_states) {
    auto it = reads_waiting_.find(read.context);
    if (it == reads_waiting_.end()) continue;  // not ours, or already failed
    reads_ready_.push_back(ReadyRead{read.index, std::move(it->second.done)});
    reads_waiting_.erase(it);
  }
  raft_->Advance();
  ServeReads();
  MaybeCompact();
}

void RaftHost::Send(std::vector<raft::Message>& messages) {
  for (raft::Message& m : messages) {
    const bool sent = transport_->Send(m.to, raft::EncodeMessage(m));
    if (!sent && m.type == raft::MessageType::kSnapshot) raft_->ReportSnapshotFailed(m.to);
  }
}

void RaftHost::NoteSoftState(const raft::SoftState& soft) {
  const bool was_leader = role_ == raft::Role::kLeader;
  role_ = soft.role;
  logger_.Info("raft role changed",
               {{"role", RoleText(soft.role)}, {"leader", soft.leader.value}, {"term", raft_->CurrentTerm().value}});
  if (was_leader && role_ != raft::Role::kLeader) {
    FailMembershipOnLeadershipLoss();
    FailAllPending(Status::Aborted("raft host: leadership lost; the outcome is unknown"));
  } else {
    // Nothing answers a read asked of a node that is no longer the leader (the core forgets
    // it). A soft state can arrive late, so reads asked of the new leader already stay.
    FailWaitingReads(Status::Aborted("raft host: the leader changed while the read was pending; retry"), soft.leader);
  }
}

void RaftHost::RestoreSnapshot(const raft::Snapshot& snapshot) {
  Status restored = RestoreHostSnapshot(snapshot.data);
  CAIRN_ASSERT(restored.IsOk(), "state machine refused a snapshot: " + restored.ToString());
  applied_ = snapshot.meta.index;
  snapshot_index_ = snapshot.meta.index;
  ++stats_.snapshots_restored;
  FailProposalsThrough(snapshot.meta.index,
                       Status::Aborted("raft host: a snapshot replaced the log; the outcome is unknown"));
  logger_.Info("restored a snapshot", {{"index", snapshot.meta.index.value}, {"term", snapshot.meta.term.value}});
}

void RaftHost::ApplyEntries(std::span<const raft::Entry> entries) {
  for (const raft::Entry& entry : entries) {
    if (entry.index <= applied_) continue;  // applied early, or covered by a restored snapshot
    CAIRN_ASSERT(entry.index == applied_.Next(), "committed entries must be applied in order");
    if (entry.type == raft::EntryType::kNormal && !entry.data.empty()) ApplyBatch(entry);
    if (entry.type == raft::EntryType::kConfigChange) NoteMembershipEntry(entry);
    applied_ = entry.index;
    ResolveProposal(entry);
    NoteAppliedForMembership(entry);
  }
  // Every path that applies entries (early, after a Ready's write, or replaying the log after
  // a restart, which arrives through the same Readies) comes through here, so a machine's
  // deferred writes are done before control returns to the loop: when MaybeCompact snapshots
  // the machine and compacts the log, every applied command is already written.
  state_machine_.FinishApplying();
}

void RaftHost::ApplyBatch(const raft::Entry& entry) {
  Decoder batch(entry.data, "command batch");
  const uint64_t count = batch.ReadVarint64();
  for (uint64_t i = 0; i < count && !batch.HasError(); ++i) {
    const std::string_view command = batch.ReadBytes(SIZE_MAX);
    if (batch.HasError()) break;
    state_machine_.Apply(entry.index, command);
    ++stats_.applied_commands;
  }
  // A committed entry is identical on every replica: one that does not decode is a bug, and
  // skipping it would make this replica diverge.
  Status decoded = batch.Finish();
  CAIRN_ASSERT(decoded.IsOk(), "committed entry " + std::to_string(entry.index.value) + ": " + decoded.ToString());
}

void RaftHost::ResolveProposal(const raft::Entry& entry) {
  FailProposalsThrough(entry.index.Prev(), Status::Aborted("raft host: entry was skipped"));
  auto it = proposals_.find(entry.index);
  if (it == proposals_.end()) return;
  PendingProposal pending = std::move(it->second);
  proposals_.erase(it);
  pending_count_ -= pending.done.size();
  FailEach(pending.done, pending.term == entry.term
                             ? OkStatus()
                             : Status::Aborted("raft host: entry was replaced by a new leader's entry"));
}

void RaftHost::FailEach(std::vector<ProposeFn>& done, const Status& why) {
  for (ProposeFn& fn : done) fn(why);
}

void RaftHost::FailProposalsThrough(raft::Index index, const Status& why) {
  while (!proposals_.empty() && proposals_.begin()->first <= index) {
    std::vector<ProposeFn> done = std::move(proposals_.begin()->second.done);
    proposals_.erase(proposals_.begin());
    pending_count_ -= done.size();
    FailEach(done, why);
  }
}

void RaftHost::FailAllPending(const Status& why) {
  std::map<raft::Index, PendingProposal> proposals = std::move(proposals_);
  proposals_.clear();
  for (auto& [index, pending] : proposals) {
    pending_count_ -= pending.done.size();
    FailEach(pending.done, why);
  }
  // Reads whose read point is known stay: that point was confirmed while we led.
  FailWaitingReads(why);
}

void RaftHost::FailWaitingReads(const Status& why, raft::NodeId leader) {
  // Collected first: callbacks may issue new reads, which this round must not fail.
  std::vector<ReadFn> failed;
  for (auto it = reads_waiting_.begin(); it != reads_waiting_.end();) {
    if (leader != raft::kNoNode && it->second.leader == leader) {
      ++it;
      continue;
    }
    failed.push_back(std::move(it->second.done));
    it = reads_waiting_.erase(it);
  }
  for (ReadFn& done : failed) done(why);
}

void RaftHost::ExpireReads() {
  std::vector<ReadFn> expired;
  for (auto it = reads_waiting_.begin(); it != reads_waiting_.end();) {
    if (it->second.deadline_tick > ticks_) {
      ++it;
      continue;
    }
    expired.push_back(std::move(it->second.done));
    it = reads_waiting_.erase(it);
  }
  const Status why = Status::Unavailable("raft host: no read point within read_timeout_ticks (" +
                                         std::to_string(options_.read_timeout_ticks) + "); retry");
  for (ReadFn& done : expired) done(why);
}

void RaftHost::ServeReads() {
  if (reads_ready_.empty()) return;
  std::vector<ReadyRead> due;
  auto not_due = std::partition(reads_ready_.begin(), reads_ready_.end(),
                                [this](const ReadyRead& r) { return r.index > applied_; });
  std::move(not_due, reads_ready_.end(), std::back_inserter(due));
  reads_ready_.erase(not_due, reads_ready_.end());
  for (ReadyRead& read : due) read.done(applied_);
}

void RaftHost::MaybeCompact() {
  if (options_.snapshot_entries == 0 || compaction_in_flight_) return;
  if (applied_.value < snapshot_index_.value + options_.snapshot_entries) return;
  // The snapshot's batch carries the hard state, with the commit index lowered to the applied
  // one (never past what is durable). That is only a commit-only change if term and vote are
  // already durable; otherwise wait for the Ready that writes them.
  raft::HardState hard_state = raft_->GetHardState();
  if (hard_state.term != submitted_hard_state_.term || hard_state.vote != submitted_hard_state_.vote) return;
  hard_state.commit = applied_;
  Result<raft::Term> term = storage_->TermAt(applied_);
  if (!term.IsOk()) return;
  auto snapshot = std::make_shared<raft::Snapshot>(raft::Snapshot{
      raft::SnapshotMeta{applied_, *term, raft_->GetConfiguration()}, TakeHostSnapshot(raft_->GetConfiguration())});
  raft::DurableStorage* storage = storage_.get();
  Env* env = &env_;
  std::weak_ptr<RaftHost*> alive = alive_;
  const uint64_t trailing = options_.snapshot_trailing_entries;
  Status submitted = worker_->Submit([storage, env, alive, snapshot, hard_state, trailing] {
    Status status = storage->PersistCompaction(*snapshot, trailing, hard_state);
    PostFromStorageThread(*env, [alive, snapshot, status] {
      if (auto self = alive.lock()) (*self)->OnCompacted(status, std::move(*snapshot));
    });
  });
  if (!submitted.IsOk()) return;  // try again after the next Ready
  compaction_in_flight_ = true;
  submitted_hard_state_ = hard_state;
  lazy_hard_state_.reset();
}

void RaftHost::OnCompacted(Status status, raft::Snapshot snapshot) {
  compaction_in_flight_ = false;
  if (status.Code() == StatusCode::kFailedPrecondition) return;  // a newer snapshot arrived first
  CAIRN_ASSERT(status.IsOk(), "raft snapshot write failed: " + status.ToString());
  Status mirrored = storage_->ApplyCompaction(snapshot, options_.snapshot_trailing_entries);
  CAIRN_ASSERT(mirrored.IsOk(), "raft storage memory view rejected a compaction: " + mirrored.ToString());
  snapshot_index_ = std::max(snapshot_index_, snapshot.meta.index);
  ++stats_.snapshots_taken;
  CAIRN_LOG_DEBUG(logger_, "compacted the raft log", {"index", snapshot.meta.index.value});
}

RaftHostStatus RaftHost::GetStatus() const {
  RaftHostStatus status;
  status.id = Id();
  status.leader = raft_->Leader();
  status.role = raft_->GetRole();
  status.term = raft_->CurrentTerm();
  status.commit = raft_->Log().Committed();
  status.applied = applied_;
  status.last_index = raft_->Log().LastIndex();
  status.snapshot_index = snapshot_index_;
  if (status.role != raft::Role::kLeader) {
    const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(env_.Now() - last_leader_contact_);
    status.last_contact_ms = static_cast<uint64_t>(std::max<int64_t>(0, since.count()));
  }
  status.stats = stats_;
  return status;
}

}  // namespace cairn::server
