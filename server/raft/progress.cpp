#include "server/raft/progress.h"

#include <algorithm>

#include "common/assert.h"

namespace cairn::raft {

void Inflights::Add(Index last, uint64_t bytes) {
  CAIRN_ASSERT(!Full(), "inflight window overflow");
  CAIRN_ASSERT(items_.empty() || items_.back().last < last, "inflights out of order");
  items_.push_back(Item{last, bytes});
  bytes_ += bytes;
}

void Inflights::FreeLE(Index index) {
  while (!items_.empty() && items_.front().last <= index) FreeFirst();
}

void Inflights::FreeFirst() {
  if (items_.empty()) return;
  bytes_ -= items_.front().bytes;
  items_.pop_front();
}

void Inflights::Reset() {
  items_.clear();
  bytes_ = 0;
}

std::string_view ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "?";
}

void Progress::BecomeProbe() {
  // After a snapshot, the follower has at least the snapshot: probe right after it.
  if (state_ == ProgressState::kSnapshot) {
    next_ = std::max(match_.Next(), pending_snapshot_.Next());
  } else {
    next_ = match_.Next();
  }
  state_ = ProgressState::kProbe;
  probe_sent_ = false;
  pending_snapshot_ = Index(0);
  inflights_.Reset();
}

void Progress::BecomeReplicate() {
  next_ = match_.Next();
  state_ = ProgressState::kReplicate;
  probe_sent_ = false;
  pending_snapshot_ = Index(0);
  inflights_.Reset();
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  state_ = ProgressState::kSnapshot;
  probe_sent_ = false;
  pending_snapshot_ = snapshot_index;
  snapshot_wait_ticks_ = 0;
  inflights_.Reset();
}

bool Progress::MaybeUpdate(Index index) {
  bool updated = false;
  if (index > match_) {
    match_ = index;
    probe_sent_ = false;
    stalled_heartbeats_ = 0;
    updated = true;
  }
  next_ = std::max(next_, index.Next());
  inflights_.FreeLE(index);
  return updated;
}

void Progress::SentEntries(Index last, uint64_t bytes) {
  if (state_ == ProgressState::kReplicate) {
    if (last >= next_) {
      next_ = last.Next();
      inflights_.Add(last, bytes);
    }
  } else if (state_ == ProgressState::kProbe) {
    probe_sent_ = true;
  }
}

bool Progress::MaybeDecreaseTo(Index rejected, Index match_hint) {
  if (state_ == ProgressState::kReplicate) {
    if (rejected <= match_) return false;  // stale: already matched beyond it
    next_ = match_.Next();
    return true;
  }
  // Probe (or snapshot): only the answer to the probe we sent (next - 1) counts.
  if (next_.Prev() != rejected) return false;
  next_ = std::max(std::min(rejected, match_hint.Next()), match_.Next());
  probe_sent_ = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state_) {
    case ProgressState::kProbe: return probe_sent_;
    case ProgressState::kReplicate: return inflights_.Full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

bool Progress::OnHeartbeatResponse(bool behind) {
  if (state_ == ProgressState::kSnapshot) return false;
  if (state_ == ProgressState::kReplicate && !behind) {
    stalled_heartbeats_ = 0;
    return false;
  }
  if (++stalled_heartbeats_ < kStalledHeartbeatsMax) return false;
  stalled_heartbeats_ = 0;
  if (state_ == ProgressState::kReplicate) {
    BecomeProbe();
  } else {
    probe_sent_ = false;
  }
  return true;
}

}  // namespace cairn::raft
