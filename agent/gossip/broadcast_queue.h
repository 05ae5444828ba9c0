// The queue of membership updates waiting to be piggybacked on outgoing packets.
//
// Each update is keyed by the member it is about; queuing a newer update for a member drops
// the older one (it would only be overruled on arrival). Each update is sent at most
// RetransmitLimit(n) = retransmit_mult * ceil(log10(n + 1)) times, which is what makes an
// update reach every member with high probability in O(log n) rounds. Updates sent the fewest
// times go first, newest first among equals, so fresh news spreads before old news repeats.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::gossip {

uint32_t RetransmitLimit(uint32_t retransmit_mult, size_t members);

class BroadcastQueue {
 public:
  // `queued_max`: beyond it the most-sent updates are dropped first.
  explicit BroadcastQueue(size_t queued_max);

  // Queues `encoded` (one encoded message) about member `key`, replacing any older one.
  void Queue(std::string key, std::string encoded);
  // Pops updates to fill at most `bytes_budget` bytes, where each update also costs
  // `per_message_overhead` bytes, and at most `count_max` updates. Each returned update has its
  // transmit count raised; ones that reach `transmit_limit` leave the queue.
  std::vector<std::string> Take(size_t bytes_budget, size_t per_message_overhead, size_t count_max,
                                uint32_t transmit_limit);
  // Drops updates about `key` (the member was reaped).
  void Forget(std::string_view key);

  size_t Size() const { return by_key_.size(); }
  bool Empty() const { return by_key_.empty(); }
  // Transmit count of the update about `key`, or -1 if none (for tests).
  int64_t TransmitsOf(std::string_view key) const;

 private:
  struct Item {
    uint32_t transmits;
    uint64_t id;  // larger is newer
    std::string key;
    std::string encoded;
  };
  struct Order {
    bool operator()(const Item& a, const Item& b) const {
      if (a.transmits != b.transmits) return a.transmits < b.transmits;
      return a.id > b.id;
    }
  };
  using ItemSet = std::set<Item, Order>;

  size_t queued_max_;
  uint64_t next_id_ = 1;
  ItemSet items_;
  // Invariant: one entry per item in items_, keyed by item key, pointing at it.
  std::map<std::string, ItemSet::iterator, std::less<>> by_key_;
};

}  // namespace cairn::gossip
