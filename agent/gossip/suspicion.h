// Suspicion timeouts with Lifeguard's confirmations.
//
// A suspicion starts at `max` and shrinks toward `min` as independent members confirm it:
//   timeout(c) = max - (max - min) * log(c + 1) / log(k + 1), clamped to at least min,
// where k is the number of confirmations expected. A lone (possibly unhealthy) accuser thus
// waits long enough for a slow suspect to refute, while a suspicion many members share
// concludes quickly.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include "common/env.h"

namespace cairn::gossip {

struct SuspicionTimeouts {
  Duration min;
  Duration max;
};

// min = suspicion_mult * max(1, log10(n)) * probe_interval; max = max_mult * min.
SuspicionTimeouts ComputeSuspicionTimeouts(uint32_t suspicion_mult, uint32_t max_timeout_mult, size_t members,
                                           Duration probe_interval);
// The timeout after `confirmations` independent confirmations out of `expected`.
Duration SuspicionTimeout(SuspicionTimeouts bounds, uint32_t expected, uint32_t confirmations);

class Suspicion {
 public:
  // `accuser` is the first member to suspect; it does not count as a confirmation.
  Suspicion(MonoTime start, SuspicionTimeouts bounds, uint32_t expected, std::string accuser);

  // Records a confirmation from `from`. True if it was new (and the deadline moved earlier).
  bool Confirm(const std::string& from);
  // Caps the whole suspicion at `timeout` from its start, for a suspect whose port two members
  // saw refusing (Suspect::refused). True the first time; confirmations never lift the cap.
  bool Hasten(Duration timeout);
  bool Hastened() const { return cap_ != MonoTime::max(); }
  MonoTime Deadline() const { return deadline_; }
  uint32_t Confirmations() const { return static_cast<uint32_t>(confirmers_.size()) - 1; }

 private:
  MonoTime start_;
  SuspicionTimeouts bounds_;
  uint32_t expected_;
  std::set<std::string> confirmers_;  // includes the accuser; bounded by `expected_ + 1`
  MonoTime cap_ = MonoTime::max();
  MonoTime deadline_;
};

}  // namespace cairn::gossip
