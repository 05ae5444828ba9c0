// CatalogServer: the catalog and KV tree replicated with Raft on one server.
//
// It owns the StateStore (catalog/state_store.h) in <data_dir>/catalog, the FSM that applies
// committed catalog commands (catalog/command.h) to it, and the RaftHost whose log lives in
// <data_dir>/raft. The store records the applied index in the same RocksDB batch as every
// change, so a restart replays only the log after it.
//
// Writes: Write() stamps nothing (the caller already stamped now_millis), proposes the encoded
// command and calls back with the CommandResult once it is applied here; WriteViaLeader()
// does the same from a follower, through the leader (catalog_forward.cpp). Each proposal is
// wrapped with (origin replica, request number) so that the replica that proposed it can hand
// the FSM's result back to the right caller; other replicas ignore the tag.
//
// Leader duties, run only while this replica leads: session TTL timers (a session expires at
// twice its TTL without a renewal, as Consul does; timers restart in full when leadership
// changes hands, because the new leader cannot know when the old one last saw a renewal) and
// the periodic reaping of old KV tombstones and ended lock-delays.
//
// Threads: every method must be called on the Env's loop thread; callbacks run there.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "catalog/command.h"
#include "catalog/state_store.h"
#include "common/env.h"
#include "common/log.h"
#include "common/status.h"
#include "server/raft_host.h"

namespace cairn::server {

struct CatalogServerOptions {
  // Raft settings; `raft.data_dir` is ignored: the log lives in <data_dir>/raft.
  RaftHostOptions raft;
  std::string data_dir;
  catalog::StoreOptions store;
  // How often the leader looks for expired sessions.
  Duration session_check_interval = std::chrono::milliseconds(500);
  // Tombstones are reaped once they are older than this (Consul's tombstone_ttl is 15 min)...
  Duration tombstone_ttl = std::chrono::minutes(15);
  // ...checked this often.
  Duration reap_interval = std::chrono::seconds(30);
  // Writes proposed or forwarded here and not yet applied; beyond this Write fails with
  // kResourceExhausted.
  size_t pending_writes_max = 1 << 16;
  // A write handed to the leader (WriteViaLeader) and not applied here within this long is
  // answered kTimeout, outcome unknown.
  Duration forward_timeout = std::chrono::seconds(10);
  // TEST ONLY: multiplies the session TTLs the leader enforces, so that a test need not wait
  // out the 10 s minimum TTL. Production keeps 1.0.
  double session_ttl_scale = 1.0;
};

class CatalogServer {
 public:
  using WriteFn = std::function<void(Result<catalog::CommandResult>)>;

  static Result<std::unique_ptr<CatalogServer>> Open(Env& env, Logger& logger, CatalogServerOptions options);
  ~CatalogServer();
  CatalogServer(const CatalogServer&) = delete;
  CatalogServer& operator=(const CatalogServer&) = delete;

  // Proposes `command`; `done` gets its result once applied at this replica. kUnavailable
  // when this replica is not the leader (WriteViaLeader forwards instead), and the
  // RaftHost's errors otherwise (kAborted: outcome unknown).
  void Write(catalog::Command command, WriteFn done);

  // Write, from any replica: on a follower the proposal goes to the leader over the Raft peer
  // link (tagged with this replica's id and request number, so the leader proposes it as it
  // is), and `done` gets the result once the entry is applied *here*: a read on this replica
  // afterwards sees the write. Errors: kUnavailable when nothing was written (no leader known,
  // no link to it, or the leader refused it: not leading, a limit reached); kAborted when the
  // leader changed after the write was handed over, and kTimeout when it was not applied here
  // within forward_timeout: in both the outcome is unknown. And Write's own errors.
  void WriteViaLeader(catalog::Command command, WriteFn done);

  // Calls `done` once this replica has applied everything committed before the call
  // (a Raft ReadIndex; works on followers too). Reads after it are linearizable.
  void ReadBarrier(std::function<void(Status)> done);

  // Leader only: resets the session's TTL timer. kUnavailable when not the leader,
  // kNotFound when the session does not exist.
  Result<catalog::Session> RenewSession(const std::string& id);

  // Commands this replica applied to its store since it opened (re-delivered ones it already
  // held are not counted): a restart that resumes from the store's applied index applies few.
  uint64_t AppliedCommands() const;

  catalog::StateStore& Store() { return *store_; }
  const catalog::StateStore& Store() const { return *store_; }
  RaftHost& Raft() { return *raft_; }
  const RaftHost& Raft() const { return *raft_; }

 private:
  class Fsm;
  CatalogServer(Env& env, Logger& logger, CatalogServerOptions options);

  // From the FSM, for every command applied here: answers the local proposer and keeps the
  // leader's session timers in step.
  void OnApplied(uint64_t origin, uint64_t request, const catalog::Command& command,
                 const Result<catalog::CommandResult>& result);
  void FinishWrite(uint64_t request, Result<catalog::CommandResult> result);
  // The command encoded as every replica must be able to decode it, or why it is refused
  // (pending_writes_max reached; a field past a catalog limit).
  Result<std::string> AdmitWrite(const catalog::Command& command) const;
  // Forwarded writes (catalog_forward.cpp): messages between a follower and the leader.
  void OnHostMessage(raft::NodeId from, std::string_view bytes);
  void ProposeForwarded(raft::NodeId from, std::string_view proposal);
  void RefuseForwarded(raft::NodeId to, uint64_t request, const Status& why);
  // Answers the forwarded writes past forward_timeout, or sent to a leader that is no longer
  // the leader; re-arms itself while any are waiting.
  void CheckForwarded();
  void ArmForwardCheck();

  // Leader duties (catalog_leader_duties.cpp), run from one periodic timer on every replica.
  void ScheduleDuties();
  void RunDuties();
  // Notices a leadership change: a new leader restarts every TTL session's timer in full.
  void SyncLeadership();
  MonoTime SessionDeadline(const catalog::Session& session);
  void ExpireSessions();
  void RecordAppliedTime();
  void MaybeReap();

  Env& env_;
  Logger& logger_;
  CatalogServerOptions options_;
  std::unique_ptr<catalog::StateStore> store_;
  std::unique_ptr<Fsm> fsm_;
  std::unique_ptr<RaftHost> raft_;

  uint64_t next_request_;
  std::map<uint64_t, WriteFn> pending_writes_;
  struct ForwardedWrite {
    uint64_t request = 0;
    raft::NodeId leader;  // where it went
    MonoTime deadline;
  };
  // Writes handed to the leader, oldest first (so by deadline); answered ones stay until
  // CheckForwarded passes them.
  std::deque<ForwardedWrite> forwarded_;
  TimerId forward_timer_ = 0;
  TimerId duty_timer_ = 0;
  bool leading_ = false;
  raft::Term leading_term_;
  // Leader only: when each TTL session expires unless renewed.
  std::map<std::string, MonoTime> session_deadlines_;
  // Every replica: (applied index, when it was applied here), oldest first, so that a leader
  // knows which tombstones are older than tombstone_ttl.
  std::deque<std::pair<catalog::RaftIndex, MonoTime>> applied_times_;
  catalog::RaftIndex reapable_;  // tombstones up to here are older than tombstone_ttl
  catalog::RaftIndex reaped_;    // leader only: the last ReapCommand proposed
  MonoTime next_reap_;
};

}  // namespace cairn::server
