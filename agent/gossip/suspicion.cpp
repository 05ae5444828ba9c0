#include "agent/gossip/suspicion.h"

#include <algorithm>
#include <cmath>

namespace cairn::gossip {

SuspicionTimeouts ComputeSuspicionTimeouts(uint32_t suspicion_mult, uint32_t max_timeout_mult, size_t members,
                                           Duration probe_interval) {
  const double scale = std::max(1.0, std::log10(static_cast<double>(std::max<size_t>(members, 1))));
  const auto min = std::chrono::duration_cast<Duration>(probe_interval * (suspicion_mult * scale));
  return SuspicionTimeouts{min, min * max_timeout_mult};
}

Duration SuspicionTimeout(SuspicionTimeouts bounds, uint32_t expected, uint32_t confirmations) {
  if (expected == 0) return bounds.min;
  const double fraction = std::log(confirmations + 1.0) / std::log(expected + 1.0);
  const double span = static_cast<double>((bounds.max - bounds.min).count());
  const Duration raw = bounds.max - Duration(static_cast<int64_t>(span * fraction));
  return std::max(raw, bounds.min);
}

Suspicion::Suspicion(MonoTime start, SuspicionTimeouts bounds, uint32_t expected, std::string accuser)
    : start_(start), bounds_(bounds), expected_(expected) {
  confirmers_.insert(std::move(accuser));
  deadline_ = start_ + SuspicionTimeout(bounds_, expected_, 0);
}

bool Suspicion::Confirm(const std::string& from) {
  // Past `expected` confirmations the timeout is already at its floor.
  if (Confirmations() >= expected_) return false;
  if (!confirmers_.insert(from).second) return false;
  deadline_ = std::min(cap_, start_ + SuspicionTimeout(bounds_, expected_, Confirmations()));
  return true;
}

bool Suspicion::Hasten(Duration timeout) {
  if (Hastened()) return false;
  cap_ = start_ + timeout;
  deadline_ = std::min(deadline_, cap_);
  return true;
}

}  // namespace cairn::gossip
