#include "agent/gossip/broadcast_queue.h"

#include <cmath>

#include "common/assert.h"

namespace cairn::gossip {
namespace {
constexpr size_t kSkipsMax = 16;
}  // namespace

uint32_t RetransmitLimit(uint32_t retransmit_mult, size_t members) {
  const double scale = std::ceil(std::log10(static_cast<double>(members) + 1.0));
  return retransmit_mult * static_cast<uint32_t>(scale < 1.0 ? 1.0 : scale);
}

BroadcastQueue::BroadcastQueue(size_t queued_max) : queued_max_(queued_max) {
  CAIRN_ASSERT(queued_max > 0, "broadcast queue needs room for one update");
}

void BroadcastQueue::Queue(std::string key, std::string encoded) {
  Forget(key);
  if (items_.size() >= queued_max_) {
    // The last item in order is the most-retransmitted, oldest: the least valuable to keep.
    auto last = std::prev(items_.end());
    by_key_.erase(last->key);
    items_.erase(last);
  }
  auto [it, inserted] = items_.insert(Item{0, next_id_++, key, std::move(encoded)});
  CAIRN_ASSERT(inserted, "broadcast ids are unique");
  by_key_.emplace(std::move(key), it);
}

void BroadcastQueue::Forget(std::string_view key) {
  auto found = by_key_.find(key);
  if (found == by_key_.end()) return;
  items_.erase(found->second);
  by_key_.erase(found);
}

std::vector<std::string> BroadcastQueue::Take(size_t bytes_budget, size_t per_message_overhead, size_t count_max,
                                              uint32_t transmit_limit) {
  std::vector<std::string> out;
  std::vector<Item> resend;
  size_t used = 0;
  size_t skipped = 0;
  for (auto it = items_.begin(); it != items_.end() && out.size() < count_max;) {
    const size_t cost = it->encoded.size() + per_message_overhead;
    if (used + cost > bytes_budget) {
      // A smaller update further on may still fit, but a full packet must not cost a walk of
      // the whole queue.
      if (++skipped > kSkipsMax) break;
      ++it;
      continue;
    }
    used += cost;
    Item item = *it;
    by_key_.erase(item.key);
    it = items_.erase(it);
    out.push_back(item.encoded);
    if (++item.transmits < transmit_limit) resend.push_back(std::move(item));
  }
  // Re-inserted after the walk so an update is never taken twice in one packet.
  for (Item& item : resend) {
    std::string key = item.key;
    auto [pos, inserted] = items_.insert(std::move(item));
    CAIRN_ASSERT(inserted, "broadcast ids are unique");
    by_key_.emplace(std::move(key), pos);
  }
  return out;
}

int64_t BroadcastQueue::TransmitsOf(std::string_view key) const {
  auto found = by_key_.find(key);
  return found == by_key_.end() ? -1 : static_cast<int64_t>(found->second->transmits);
}

}  // namespace cairn::gossip
