// Majority arithmetic over a set of voters. Cairn changes membership one server at a time, so
// every decision is a simple majority of one voter set (no joint quorums).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

#include "common/assert.h"
#include "server/raft/types.h"

namespace cairn::raft {

inline size_t QuorumSize(size_t voters) { return voters / 2 + 1; }

enum class VoteResult : uint8_t { kPending = 0, kWon, kLost };

// Tallies granted/rejected votes among `voters`; `vote_of(id)` is 1 granted, -1 rejected, 0
// not yet answered.
inline VoteResult TallyVotes(const std::vector<NodeId>& voters, const std::function<int(NodeId)>& vote_of) {
  size_t granted = 0;
  size_t rejected = 0;
  for (NodeId v : voters) {
    const int vote = vote_of(v);
    if (vote > 0) ++granted;
    if (vote < 0) ++rejected;
  }
  const size_t q = QuorumSize(voters.size());
  if (granted >= q) return VoteResult::kWon;
  if (voters.size() - rejected < q) return VoteResult::kLost;
  return VoteResult::kPending;
}

// The largest index that a majority of voters have reached (each voter's index from
// `index_of`). An empty voter set commits nothing.
template <typename T>
T QuorumIndex(const std::vector<NodeId>& voters, const std::function<T(NodeId)>& index_of) {
  if (voters.empty()) return T(0);
  std::vector<T> indexes;
  indexes.reserve(voters.size());
  for (NodeId v : voters) indexes.push_back(index_of(v));
  std::sort(indexes.begin(), indexes.end(), std::greater<T>());
  return indexes[QuorumSize(voters.size()) - 1];
}

}  // namespace cairn::raft
