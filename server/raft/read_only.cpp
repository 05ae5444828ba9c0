#include "server/raft/read_only.h"

namespace cairn::raft {

std::vector<PendingRead> ReadOnly::Confirm(uint64_t round) {
  std::vector<PendingRead> out;
  while (!pending_.empty() && pending_.front().round <= round) {
    out.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  return out;
}

void ReadOnly::Reset() {
  pending_.clear();
  history_.clear();
}

uint64_t ReadOnly::NextRound(uint64_t tick) {
  ++round_;
  history_.push_back(RoundTick{round_, tick});
  if (history_.size() > kRoundHistoryMax) history_.pop_front();
  return round_;
}

std::optional<uint64_t> ReadOnly::RoundSentTick(uint64_t round) const {
  if (history_.empty() || round < history_.front().round || round > history_.back().round) return std::nullopt;
  return history_[round - history_.front().round].tick;
}

}  // namespace cairn::raft
