#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::Fixture;

TEST_SUITE("catalog.sessions") {
  TEST_CASE("a session needs a registered node and healthy checks, and a valid TTL") {
    Fixture f;
    CHECK(f.CreateSession("s1", "ghost").code == OutcomeCode::kNotFound);
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.AddCheck("n1", "serfHealth", HealthStatus::kPassing).Ok());
    CHECK(f.AddCheck("n1", "disk", HealthStatus::kCritical).Ok());
    CHECK(f.CreateSession("s1", "n1", {"missing"}).code == OutcomeCode::kNotFound);
    CHECK(f.CreateSession("s1", "n1", {"disk"}).code == OutcomeCode::kInvalidArgument);
    CHECK_FALSE(f.store->SessionInfo("s1").value);

    Session s;
    s.id = "ttl";
    s.node = "n1";
    s.ttl_millis = 5000;  // under 10s
    CHECK(f.store->SessionCreate(f.Next(), s)->code == OutcomeCode::kInvalidArgument);
    s.ttl_millis = limits::kSessionTtlMillisMax + 1;
    CHECK(f.store->SessionCreate(f.Next(), s)->code == OutcomeCode::kInvalidArgument);
    s.ttl_millis = 30000;
    const RaftIndex created = f.Next();
    CHECK(f.store->SessionCreate(created, s)->Ok());
    auto info = f.store->SessionInfo("ttl");
    REQUIRE(info.value);
    CHECK(info.value->ttl_millis == 30000);
    CHECK(info.value->create_index == created);
    CHECK(info.index == created);

    CHECK(f.CreateSession("s1", "n1", {"serfHealth"}).Ok());
    CHECK(f.CreateSession("s1", "n1").code == OutcomeCode::kInvalidArgument);  // id in use
    CHECK(f.store->Sessions().value.size() == 2);
    CHECK(f.store->NodeSessions("n1").value.size() == 2);
    CHECK(f.store->NodeSessions("n2").value.empty());
    CHECK(f.store->SessionRenew("s1").IsOk());
    CHECK(f.store->SessionRenew("nope").GetStatus().Code() == StatusCode::kNotFound);
  }

  TEST_CASE("lock needs a valid session; LockIndex counts new acquisitions only") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("a", "n1").Ok());
    CHECK(f.CreateSession("b", "n1").Ok());
    CHECK(f.Lock("lock", "").code == OutcomeCode::kInvalidSession);
    CHECK(f.Lock("lock", "nobody").code == OutcomeCode::kInvalidSession);
    CHECK_FALSE(f.Get("lock"));

    CHECK(f.Lock("lock", "a", "v1").Ok());
    CHECK(f.Get("lock")->lock_index == 1);
    CHECK(f.Get("lock")->session == "a");
    // Re-acquiring as the holder updates the value but is not a new acquisition.
    CHECK(f.Lock("lock", "a", "v2").Ok());
    CHECK(f.Get("lock")->lock_index == 1);
    CHECK(f.Get("lock")->value == "v2");
    // Someone else is refused.
    CHECK(f.Lock("lock", "b", "mine").code == OutcomeCode::kRejected);
    CHECK(f.Get("lock")->value == "v2");
    CHECK(f.Get("lock")->session == "a");
    // Only the holder can release; the count stays.
    CHECK(f.Unlock("lock", "b").code == OutcomeCode::kRejected);
    CHECK(f.Unlock("lock", "a", "released").Ok());
    CHECK(f.Get("lock")->session.empty());
    CHECK(f.Get("lock")->lock_index == 1);
    CHECK(f.Get("lock")->value == "released");
    // A new acquisition by another session increments.
    CHECK(f.Lock("lock", "b").Ok());
    CHECK(f.Get("lock")->lock_index == 2);
    CHECK(f.Unlock("absent", "b").code == OutcomeCode::kRejected);
  }

  TEST_CASE("a plain write to a locked key keeps the lock") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("a", "n1").Ok());
    CHECK(f.Lock("k", "a").Ok());
    CHECK(f.Set("k", "overwritten").Ok());
    CHECK(f.Get("k")->session == "a");
    CHECK(f.Get("k")->lock_index == 1);
  }

  TEST_CASE("destroying a release session unlocks its keys and arms lock-delay") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("a", "n1", {}, SessionBehavior::kRelease, 10'000).Ok());
    CHECK(f.CreateSession("b", "n1").Ok());
    CHECK(f.Lock("leader", "a", "me").Ok());
    CHECK(f.Lock("other", "a").Ok());
    CHECK(f.Set("unrelated", "x").Ok());

    f.now_millis = 50'000;
    const RaftIndex destroyed(f.next);
    CHECK(f.DestroySession("a").Ok());
    CHECK_FALSE(f.store->SessionInfo("a").value);
    auto leader = f.Get("leader");
    REQUIRE(leader);
    CHECK(leader->session.empty());
    CHECK(leader->value == "me");
    CHECK(leader->modify_index == destroyed);
    CHECK(f.Get("other")->session.empty());
    CHECK(f.Get("unrelated")->modify_index < destroyed);
    CHECK(f.store->KvLockDelayUntil("leader") == 60'000);
    CHECK(f.store->KvLockDelayUntil("unrelated") == 0);

    f.now_millis = 59'999;
    Outcome early = f.Lock("leader", "b");
    CHECK(early.code == OutcomeCode::kLockDelay);
    CHECK(f.Get("leader")->session.empty());
    f.now_millis = 60'000;
    CHECK(f.Lock("leader", "b").Ok());
    CHECK(f.Get("leader")->session == "b");
    CHECK(f.Get("leader")->lock_index == 2);
    CHECK(f.store->KvLockDelayUntil("leader") == 0);
    CHECK(f.DestroySession("a").code == OutcomeCode::kNotFound);
  }

  TEST_CASE("the periodic reap drops only lock-delays that have ended") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("a", "n1", {}, SessionBehavior::kRelease, 10'000).Ok());
    CHECK(f.Lock("k", "a").Ok());
    f.now_millis = 50'000;
    CHECK(f.DestroySession("a").Ok());
    REQUIRE(f.store->ReapTombstones(f.Next(), 59'999, RaftIndex(0))->Ok());
    CHECK(f.store->KvLockDelayUntil("k") == 60'000);
    REQUIRE(f.store->ReapTombstones(f.Next(), 60'000, RaftIndex(0))->Ok());
    CHECK(f.store->KvLockDelayUntil("k") == 0);
  }

  TEST_CASE("a zero lock-delay allows an immediate new holder") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("a", "n1", {}, SessionBehavior::kRelease, 0).Ok());
    CHECK(f.CreateSession("b", "n1").Ok());
    CHECK(f.Lock("k", "a").Ok());
    CHECK(f.DestroySession("a").Ok());
    CHECK(f.Lock("k", "b").Ok());
  }

  TEST_CASE("destroying a delete session deletes its keys") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("a", "n1", {}, SessionBehavior::kDelete).Ok());
    CHECK(f.Lock("eph/1", "a").Ok());
    CHECK(f.Set("eph/2", "kept").Ok());
    const RaftIndex destroyed(f.next);
    CHECK(f.DestroySession("a").Ok());
    CHECK_FALSE(f.Get("eph/1"));
    CHECK(f.Get("eph/2"));
    CHECK(f.store->KvGet("eph/1").index == destroyed);
    CHECK(f.store->KvList("eph/").index == destroyed);
  }

  TEST_CASE("deregistering the node invalidates its sessions and releases their locks") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.AddNode("n2").Ok());
    CHECK(f.CreateSession("on-n1", "n1").Ok());
    CHECK(f.CreateSession("on-n2", "n2").Ok());
    CHECK(f.Lock("k1", "on-n1").Ok());
    CHECK(f.Lock("k2", "on-n2").Ok());
    REQUIRE(f.store->DeregisterNode(f.Next(), f.now_millis, "n1")->Ok());
    CHECK_FALSE(f.store->SessionInfo("on-n1").value);
    CHECK(f.store->SessionInfo("on-n2").value);
    CHECK(f.Get("k1")->session.empty());
    CHECK(f.Get("k2")->session == "on-n2");
    CHECK(f.store->KvLockDelayUntil("k1") == f.now_millis + 15000);
  }

  TEST_CASE("a check turning critical, or going away, invalidates the sessions on it") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.AddCheck("n1", "serfHealth", HealthStatus::kPassing).Ok());
    CHECK(f.AddCheck("n1", "app", HealthStatus::kPassing).Ok());
    CHECK(f.CreateSession("s-serf", "n1", {"serfHealth"}).Ok());
    CHECK(f.CreateSession("s-app", "n1", {"app"}).Ok());
    CHECK(f.Lock("k", "s-serf").Ok());

    CHECK(f.AddCheck("n1", "serfHealth", HealthStatus::kWarning).Ok());
    CHECK(f.store->SessionInfo("s-serf").value);  // warning is not critical
    CHECK(f.AddCheck("n1", "serfHealth", HealthStatus::kCritical).Ok());
    CHECK_FALSE(f.store->SessionInfo("s-serf").value);
    CHECK(f.Get("k")->session.empty());
    CHECK(f.store->SessionInfo("s-app").value);

    REQUIRE(f.store->DeregisterCheck(f.Next(), f.now_millis, "n1", "app")->Ok());
    CHECK_FALSE(f.store->SessionInfo("s-app").value);
    CHECK(f.store->Sessions().value.empty());
  }
}

}  // namespace
}  // namespace cairn::catalog
