// Progress: the leader's view of one follower's log, and the flow control of appends to it.
//
// A follower is in one of three states:
//   kProbe      we do not know where its log matches; send one append at a time and wait for
//               the answer (or the next heartbeat response) before sending another.
//   kReplicate  the follower is keeping up; stream appends optimistically (`next` runs ahead of
//               `match`), bounded by Inflights: at most max_inflight_msgs messages and
//               max_inflight_bytes bytes unacknowledged.
//   kSnapshot   the entries it needs are compacted; a snapshot is on its way. Nothing else is
//               sent until it acknowledges an index at or beyond the snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>

#include "server/raft/types.h"

namespace cairn::raft {

// The sliding window of appends sent but not acknowledged, by last index carried.
class Inflights {
 public:
  Inflights(size_t count_max, uint64_t bytes_max) : count_max_(count_max), bytes_max_(bytes_max) {}

  // Precondition: !Full(); indexes are added in increasing order.
  void Add(Index last, uint64_t bytes);
  // Frees every message whose last index is <= `index`.
  void FreeLE(Index index);
  void FreeFirst();
  void Reset();
  bool Full() const { return items_.size() >= count_max_ || (bytes_max_ > 0 && bytes_ >= bytes_max_); }
  size_t Count() const { return items_.size(); }

 private:
  struct Item {
    Index last;
    uint64_t bytes;
  };
  size_t count_max_;
  uint64_t bytes_max_;  // 0: no byte limit
  uint64_t bytes_ = 0;
  std::deque<Item> items_;
};

enum class ProgressState : uint8_t { kProbe = 0, kReplicate, kSnapshot };
std::string_view ProgressStateName(ProgressState state);

class Progress {
 public:
  Progress(Index next, size_t inflight_max, uint64_t inflight_bytes_max, bool learner)
      : next_(next), inflights_(inflight_max, inflight_bytes_max), learner_(learner) {}

  Index Match() const { return match_; }
  Index Next() const { return next_; }
  ProgressState State() const { return state_; }
  Index PendingSnapshot() const { return pending_snapshot_; }
  bool IsLearner() const { return learner_; }
  void SetLearner(bool learner) { learner_ = learner; }
  Inflights& GetInflights() { return inflights_; }

  // Check-quorum bookkeeping: did we hear from it during the current election timeout?
  bool RecentActive() const { return recent_active_; }
  void SetRecentActive(bool active) { recent_active_ = active; }

  // Lease reads: the newest heartbeat round this follower acknowledged.
  uint64_t AckedRound() const { return acked_round_; }
  void AckRound(uint64_t round) { acked_round_ = round > acked_round_ ? round : acked_round_; }

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(Index snapshot_index);

  // An acknowledgement of `index`. Returns false if it was stale (told us nothing new).
  bool MaybeUpdate(Index index);
  // We just sent entries through `last` (optimistic in kReplicate).
  void SentEntries(Index last, uint64_t bytes);
  // A rejection of the append after `rejected`, with the follower's hint of where it may match.
  // Returns false if the rejection is stale.
  bool MaybeDecreaseTo(Index rejected, Index match_hint);
  // Whether sending must wait (probe in flight, window full, snapshot pending).
  bool IsPaused() const;
  // A heartbeat response arrived from a follower that is `behind` (match < our last index).
  // Returns true if the leader should re-send: after kStalledHeartbeatsMax responses without
  // progress, a lost probe is retried and a stalled replicate stream (an append was lost)
  // falls back to probing from `match`.
  static constexpr uint32_t kStalledHeartbeatsMax = 3;
  bool OnHeartbeatResponse(bool behind);
  // Ticks spent waiting in kSnapshot; the leader gives up (and re-probes) after a while so a
  // lost snapshot message cannot stall the follower forever.
  uint64_t SnapshotWaitTicks() const { return snapshot_wait_ticks_; }
  void TickSnapshotWait() { ++snapshot_wait_ticks_; }

 private:
  // Invariant: match_ < next_.
  Index match_;
  Index next_;
  ProgressState state_ = ProgressState::kProbe;
  bool probe_sent_ = false;
  Index pending_snapshot_;
  uint64_t snapshot_wait_ticks_ = 0;
  uint32_t stalled_heartbeats_ = 0;
  Inflights inflights_;
  bool recent_active_ = false;
  uint64_t acked_round_ = 0;
  bool learner_ = false;
};

}  // namespace cairn::raft
