#include "server/raft/raft_log.h"

#include <algorithm>

#include "server/raft/messages.h"

namespace cairn::raft {

RaftLog::RaftLog(const Storage& storage) : storage_(storage) {
  offset_ = storage_.LastIndex().Next();
  committed_ = Index(storage_.FirstIndex().value - 1);
  applied_ = committed_;
}

Index RaftLog::FirstIndex() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index.Next();
  return storage_.FirstIndex();
}

Index RaftLog::LastIndex() const {
  if (!unstable_.empty()) return unstable_.back().index;
  return offset_.Prev();
}

Term RaftLog::LastTerm() const { return TermOrZero(LastIndex()); }

Result<Term> RaftLog::TermAt(Index i) const {
  const Index dummy = FirstIndex().Prev();
  if (i < dummy) return CompactedError();
  if (i > LastIndex()) return UnavailableEntryError();
  if (unstable_snapshot_ && i == unstable_snapshot_->meta.index) return unstable_snapshot_->meta.term;
  if (i >= offset_) return unstable_[i.value - offset_.value].term;
  Result<Term> t = storage_.TermAt(i);
  CAIRN_ASSERT(t.IsOk() || IsCompacted(t.GetStatus()) || t.GetStatus().Code() == StatusCode::kUnavailable,
               "storage failed: " + t.GetStatus().ToString());
  return t;
}

Term RaftLog::TermOrZero(Index i) const {
  Result<Term> t = TermAt(i);
  return t.IsOk() ? *t : Term(0);
}

bool RaftLog::MatchTerm(Index i, Term t) const {
  Result<Term> have = TermAt(i);
  return have.IsOk() && *have == t;
}

bool RaftLog::IsUpToDate(Index last_index, Term last_term) const {
  const Term mine = LastTerm();
  return last_term > mine || (last_term == mine && last_index >= LastIndex());
}

std::optional<Index> RaftLog::MaybeAppend(Index prev_index, Term prev_term, Index commit,
                                          const std::vector<Entry>& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  const Index last_new(prev_index.value + entries.size());
  size_t first_new = entries.size();
  for (size_t k = 0; k < entries.size(); ++k) {
    if (!MatchTerm(entries[k].index, entries[k].term)) {
      first_new = k;
      break;
    }
  }
  if (first_new < entries.size()) {
    CAIRN_ASSERT(entries[first_new].index > committed_, "a committed entry would be overwritten");
    Append(std::vector<Entry>(entries.begin() + static_cast<long>(first_new), entries.end()));
  }
  CommitTo(std::min(commit, last_new));
  return last_new;
}

Index RaftLog::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return LastIndex();
  const Index first = entries.front().index;
  CAIRN_ASSERT(first > committed_, "append below the commit index");
  CAIRN_ASSERT(first <= LastIndex().Next(), "append would leave a gap");
  if (first == Index(offset_.value + unstable_.size())) {
    unstable_.insert(unstable_.end(), entries.begin(), entries.end());
  } else if (first <= offset_) {
    // Replaces entries already handed to storage; storage's stale suffix is overwritten when
    // the host persists these.
    offset_ = first;
    unstable_ = entries;
  } else {
    unstable_.resize(first.value - offset_.value);
    unstable_.insert(unstable_.end(), entries.begin(), entries.end());
  }
  return LastIndex();
}

Index RaftLog::FindConflictByTerm(Index index, Term term) const {
  Index i = std::min(index, LastIndex());
  while (i > Index(0)) {
    Result<Term> t = TermAt(i);
    if (!t.IsOk() || *t <= term) return i;
    i = i.Prev();
  }
  return Index(0);
}

Result<std::vector<Entry>> RaftLog::Slice(Index lo, Index hi, uint64_t bytes_max) const {
  std::vector<Entry> out;
  if (lo >= hi) return out;
  if (lo < FirstIndex()) return CompactedError();
  CAIRN_ASSERT(hi <= LastIndex().Next(), "slice beyond the log");
  uint64_t bytes = 0;
  if (lo < offset_) {
    Result<std::vector<Entry>> stored = storage_.Entries(lo, std::min(hi, offset_), bytes_max);
    if (!stored.IsOk()) return stored.GetStatus();
    out = std::move(stored).Value();
    for (const Entry& e : out) bytes += EntryBytes(e);
    if (out.empty() || out.back().index.Next() < std::min(hi, offset_)) return out;  // byte limit hit
  }
  for (Index i = std::max(lo, offset_); i < hi; i = i.Next()) {
    const Entry& e = unstable_[i.value - offset_.value];
    bytes += EntryBytes(e);
    if (!out.empty() && bytes > bytes_max) break;
    out.push_back(e);
  }
  return out;
}

void RaftLog::CommitTo(Index index) {
  if (index <= committed_) return;
  CAIRN_ASSERT(index <= LastIndex(), "commit beyond the last index");
  committed_ = index;
}

void RaftLog::AppliedTo(Index index) {
  if (index <= applied_) return;
  CAIRN_ASSERT(index <= committed_, "applied beyond the commit index");
  applied_ = index;
}

bool RaftLog::MaybeCommit(Index index, Term term) {
  if (index > committed_ && TermOrZero(index) == term) {
    CommitTo(index);
    return true;
  }
  return false;
}

std::vector<Entry> RaftLog::NextCommittedEntries(uint64_t bytes_max) const {
  if (unstable_snapshot_ || !HasNextCommittedEntries()) return {};
  const Index lo = std::max(applied_.Next(), FirstIndex());
  Result<std::vector<Entry>> entries = Slice(lo, committed_.Next(), bytes_max);
  CAIRN_ASSERT(entries.IsOk(), "committed entries unavailable: " + entries.GetStatus().ToString());
  return std::move(entries).Value();
}

void RaftLog::StableTo(Index index, Term term) {
  if (index < offset_ || unstable_.empty() || index > unstable_.back().index) return;
  if (unstable_[index.value - offset_.value].term != term) return;
  unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<long>(index.value - offset_.value + 1));
  offset_ = index.Next();
}

void RaftLog::StableSnapshotTo(Index index) {
  if (unstable_snapshot_ && unstable_snapshot_->meta.index == index) unstable_snapshot_.reset();
}

Index RaftLog::StableLastIndex() const {
  if (unstable_snapshot_) return Index(0);
  return offset_.Prev();
}

void RaftLog::Restore(const Snapshot& snapshot) {
  CAIRN_ASSERT(snapshot.meta.index > committed_, "restoring an older snapshot");
  committed_ = snapshot.meta.index;
  unstable_.clear();
  offset_ = snapshot.meta.index.Next();
  unstable_snapshot_ = snapshot;
}

Result<Snapshot> RaftLog::CurrentSnapshot() const {
  if (unstable_snapshot_) return *unstable_snapshot_;
  return storage_.GetSnapshot();
}

}  // namespace cairn::raft
