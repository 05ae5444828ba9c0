// ReadOnly: linearizable reads without writing to the log.
//
// ReadIndex (Raft thesis 6.4): the leader records its commit index for the request, then
// proves it is still the leader by a heartbeat round that a quorum acknowledges; after that the
// recorded index is a safe read point. Heartbeat rounds are numbered; a follower echoes the
// round it answers, so one acknowledgement of round r confirms every request registered at or
// before r. The same numbers feed lease reads: the leader remembers the tick each round was
// sent at, and the newest round a quorum acknowledged bounds how long it may serve reads
// without another round (see Raft::LeaseValid for the clock-drift bound).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "server/raft/types.h"

namespace cairn::raft {

struct PendingRead {
  uint64_t round = 0;   // heartbeat round whose quorum acknowledgement confirms it
  Index index;          // commit index when the request arrived
  std::string context;  // the requester's identifier, returned in ReadState
  NodeId from;          // kNoNode: local request; else the follower that forwarded it
};

class ReadOnly {
 public:
  // Bound on queued requests (principle 5: everything is bounded).
  static constexpr size_t kPendingReadsMax = 4096;
  // How many recent rounds keep their send tick (older ones are useless for a lease).
  static constexpr size_t kRoundHistoryMax = 1024;

  bool Full() const { return pending_.size() >= kPendingReadsMax; }
  void Add(PendingRead read) { pending_.push_back(std::move(read)); }
  // Removes and returns every request confirmed by a quorum acknowledgement of `round`.
  std::vector<PendingRead> Confirm(uint64_t round);
  void Reset();
  size_t PendingCount() const { return pending_.size(); }

  // Starts a new heartbeat round at leader tick `tick`; returns its number (never reused).
  uint64_t NextRound(uint64_t tick);
  uint64_t CurrentRound() const { return round_; }
  // The tick at which `round` was sent, or nothing if it is too old to remember.
  std::optional<uint64_t> RoundSentTick(uint64_t round) const;

 private:
  struct RoundTick {
    uint64_t round;
    uint64_t tick;
  };
  std::deque<PendingRead> pending_;  // in increasing round order
  std::deque<RoundTick> history_;
  uint64_t round_ = 0;
};

}  // namespace cairn::raft
