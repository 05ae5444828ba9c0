// RaftLog: one view over the durable log (Storage) and the entries not yet persisted.
//
//   storage:  [snapshot][first ........ offset-1]
//   unstable:                          [offset ........ last]   (+ maybe a newer snapshot)
//
// Unstable entries and an unstable snapshot are handed to the host in a Ready; once the host
// reports them persisted (StableTo / StableSnapshotTo) they are dropped from memory and read
// back through Storage. Storage entries at or beyond `offset` are stale (a conflicting append
// replaced them in memory) and are never read.
#pragma once

#include <optional>
#include <vector>

#include "server/raft/storage.h"

namespace cairn::raft {

class RaftLog {
 public:
  explicit RaftLog(const Storage& storage);

  Index FirstIndex() const;
  Index LastIndex() const;
  Term LastTerm() const;
  // Term at `i`; kNotFound if compacted, kUnavailable if beyond the log.
  Result<Term> TermAt(Index i) const;
  // Term at `i`, or Term(0) when it is not known (compacted or beyond the end).
  Term TermOrZero(Index i) const;
  bool MatchTerm(Index i, Term t) const;
  // Raft's "at least as up to date" comparison of a candidate's last entry against ours.
  bool IsUpToDate(Index last_index, Term last_term) const;

  // Follower side of kAppend. Returns the new last index if (prev_index, prev_term) matches.
  std::optional<Index> MaybeAppend(Index prev_index, Term prev_term, Index commit, const std::vector<Entry>& entries);
  // Appends at the end (after truncating any conflicting suffix). Returns the new last index.
  Index Append(const std::vector<Entry>& entries);
  // The largest index <= `index` whose term is <= `term` (fast log backtracking).
  Index FindConflictByTerm(Index index, Term term) const;

  // Entries in [lo, hi) up to `bytes_max` (at least one if any).
  Result<std::vector<Entry>> Slice(Index lo, Index hi, uint64_t bytes_max) const;

  Index Committed() const { return committed_; }
  Index Applied() const { return applied_; }
  void CommitTo(Index index);
  void AppliedTo(Index index);
  // Leader: commit `index` if it is newer and its entry has `term`.
  bool MaybeCommit(Index index, Term term);

  // Entries in (applied, committed], at most `bytes_max`.
  std::vector<Entry> NextCommittedEntries(uint64_t bytes_max) const;
  bool HasNextCommittedEntries() const { return committed_ > applied_; }

  // Unstable state to hand to the host.
  const std::vector<Entry>& UnstableEntries() const { return unstable_; }
  const std::optional<Snapshot>& UnstableSnapshot() const { return unstable_snapshot_; }
  // The host persisted entries up to (index, term); ignored if the log changed since.
  void StableTo(Index index, Term term);
  void StableSnapshotTo(Index index);
  // Last index known to be durable and consistent with this log (the leader's own "match").
  Index StableLastIndex() const;

  // Replaces the log with a snapshot received from the leader.
  void Restore(const Snapshot& snapshot);
  // The newest snapshot: the unstable one if any, else Storage's.
  Result<Snapshot> CurrentSnapshot() const;

 private:
  const Storage& storage_;
  std::optional<Snapshot> unstable_snapshot_;
  std::vector<Entry> unstable_;  // unstable_[k].index == offset_ + k
  Index offset_;
  // Invariant: applied_ <= committed_ <= LastIndex().
  Index committed_;
  Index applied_;
};

}  // namespace cairn::raft
