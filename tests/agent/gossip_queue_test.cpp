// gossip.queue: the broadcast queue's retransmit limits, invalidation and packing.
#include <doctest/doctest.h>

#include "agent/gossip/broadcast_queue.h"

namespace cairn::gossip {

TEST_SUITE("gossip.queue") {
  TEST_CASE("retransmit limit is mult * ceil(log10(n + 1))") {
    CHECK(RetransmitLimit(4, 0) == 4);  // never below one round of mult
    CHECK(RetransmitLimit(4, 1) == 4);
    CHECK(RetransmitLimit(4, 9) == 4);
    CHECK(RetransmitLimit(4, 10) == 8);
    CHECK(RetransmitLimit(4, 99) == 8);
    CHECK(RetransmitLimit(4, 100) == 12);
    CHECK(RetransmitLimit(3, 1000) == 12);
  }

  TEST_CASE("an update is sent exactly transmit_limit times, then leaves the queue") {
    BroadcastQueue q(16);
    q.Queue("a", "update-a");
    for (int i = 0; i < 5; ++i) {
      auto taken = q.Take(1000, 0, 10, 5);
      REQUIRE(taken.size() == 1);
      CHECK(taken[0] == "update-a");
    }
    CHECK(q.Empty());
    CHECK(q.Take(1000, 0, 10, 5).empty());
  }

  TEST_CASE("a newer update for the same member replaces the older one and starts fresh") {
    BroadcastQueue q(16);
    q.Queue("a", "old");
    (void)q.Take(1000, 0, 10, 10);
    CHECK(q.TransmitsOf("a") == 1);
    q.Queue("a", "new");
    CHECK(q.Size() == 1);
    CHECK(q.TransmitsOf("a") == 0);
    auto taken = q.Take(1000, 0, 10, 10);
    REQUIRE(taken.size() == 1);
    CHECK(taken[0] == "new");
    q.Forget("a");
    CHECK(q.Empty());
  }

  TEST_CASE("packing: least-sent and newest first, within the byte budget and count") {
    BroadcastQueue q(16);
    q.Queue("a", std::string(10, 'a'));
    q.Queue("b", std::string(10, 'b'));
    q.Queue("c", std::string(10, 'c'));
    // Newest first among equals.
    auto first = q.Take(25, 2, 10, 10);  // room for two 12-byte items
    REQUIRE(first.size() == 2);
    CHECK(first[0][0] == 'c');
    CHECK(first[1][0] == 'b');
    // 'a' has been sent least now, so it leads.
    auto second = q.Take(12, 2, 10, 10);
    REQUIRE(second.size() == 1);
    CHECK(second[0][0] == 'a');
    // The count limit holds even with room to spare.
    CHECK(q.Take(1000, 0, 1, 10).size() == 1);
    // A big item that does not fit is skipped, a small one behind it still goes.
    q.Queue("big", std::string(100, 'x'));
    q.Queue("small", std::string(5, 's'));
    q.Queue("big2", std::string(100, 'y'));
    auto mixed = q.Take(50, 0, 10, 10);
    REQUIRE_FALSE(mixed.empty());
    CHECK(mixed[0][0] == 's');
    for (const auto& m : mixed) CHECK(m.size() <= 50);
  }

  TEST_CASE("the queue is bounded; the most-sent update is dropped first") {
    BroadcastQueue q(3);
    q.Queue("a", "a");
    (void)q.Take(1, 0, 1, 100);  // 'a' newest, so it is sent once
    q.Queue("b", "b");
    q.Queue("c", "c");
    q.Queue("d", "d");
    CHECK(q.Size() == 3);
    CHECK(q.TransmitsOf("a") == -1);
    CHECK(q.TransmitsOf("d") == 0);
  }
}

}  // namespace cairn::gossip
