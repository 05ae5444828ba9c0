#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::Fixture;

// Registers a watcher that counts its wake-ups.
struct Counter {
  int fired = 0;
  WatchId id = 0;
};

void WatchOrDie(Fixture& f, Counter& counter, std::vector<WatchTopic> topics, RaftIndex seen) {
  auto id = f.store->Watch(topics, seen, [&counter] { ++counter.fired; });
  REQUIRE_MESSAGE(id.IsOk(), id.GetStatus().ToString());
  REQUIRE(id->has_value());
  counter.id = **id;
}

TEST_SUITE("catalog.watch") {
  TEST_CASE("a change inside an open group wakes its watcher at once, and reads see it") {
    Fixture f;
    CHECK(f.Set("other", "1").Ok());
    std::optional<std::string> seen;
    auto id = f.store->Watch(StateStore::TopicsForKvGet("w"), f.store->KvGet("w").index, [&] {
      auto entry = f.store->KvGet("w").value;
      seen = entry ? entry->value : "(missing)";
    });
    REQUIRE(id.IsOk());
    REQUIRE(id->has_value());
    f.store->BeginGroup();
    CHECK(f.Set("other", "2").Ok());
    CHECK_FALSE(seen);
    CHECK(f.Set("w", "in-group").Ok());
    CHECK(seen == "in-group");
    CHECK(f.store->WrittenAppliedIndex() < f.store->AppliedIndex());  // fired before the write
    REQUIRE(f.store->CommitGroup().IsOk());
  }

  TEST_CASE("a key watcher wakes for its key only, once") {
    Fixture f;
    CHECK(f.Set("a", "1").Ok());
    CHECK(f.Set("b", "1").Ok());
    Counter on_a;
    auto read = f.store->KvGet("a");
    WatchOrDie(f, on_a, StateStore::TopicsForKvGet("a"), read.index);
    CHECK(f.Set("b", "2").Ok());
    CHECK(f.Set("ab", "2").Ok());
    CHECK(f.Cas("a", "stale", 99).code == OutcomeCode::kRejected);
    CHECK(on_a.fired == 0);
    CHECK(f.store->WatcherCount() == 1);
    CHECK(f.Set("a", "2").Ok());
    CHECK(on_a.fired == 1);
    CHECK(f.store->WatcherCount() == 0);
    CHECK(f.Set("a", "3").Ok());
    CHECK(on_a.fired == 1);  // one-shot
  }

  TEST_CASE("watching a missing key wakes when it is created, and a deleted key's watcher wakes on delete") {
    Fixture f;
    Counter created;
    WatchOrDie(f, created, StateStore::TopicsForKvGet("later"), f.store->KvGet("later").index);
    CHECK(f.Set("other", "x").Ok());
    CHECK(created.fired == 0);
    CHECK(f.Set("later", "x").Ok());
    CHECK(created.fired == 1);

    Counter deleted;
    WatchOrDie(f, deleted, StateStore::TopicsForKvGet("later"), f.store->KvGet("later").index);
    CHECK(f.Delete("later").Ok());
    CHECK(deleted.fired == 1);
    // The re-read reports a higher index than before the delete.
    CHECK(f.store->KvGet("later").index > RaftIndex(2));
  }

  TEST_CASE("a prefix watcher wakes for changes under the prefix, deletes and delete-tree included") {
    Fixture f;
    CHECK(f.Set("svc/a", "1").Ok());
    CHECK(f.Set("svcx", "1").Ok());
    Counter under;
    WatchOrDie(f, under, StateStore::TopicsForKvList("svc/"), f.store->KvList("svc/").index);
    CHECK(f.Set("svcx", "2").Ok());
    CHECK(f.Set("sv", "2").Ok());
    CHECK(under.fired == 0);
    CHECK(f.Set("svc/b", "2").Ok());
    CHECK(under.fired == 1);

    Counter again;
    WatchOrDie(f, again, StateStore::TopicsForKvList("svc/"), f.store->KvList("svc/").index);
    CHECK(f.Delete("svc/a").Ok());
    CHECK(again.fired == 1);

    Counter tree;
    Counter everything;
    WatchOrDie(f, tree, StateStore::TopicsForKvList("svc/"), f.store->KvList("svc/").index);
    WatchOrDie(f, everything, StateStore::TopicsForKvList(""), f.store->KvList("").index);
    CHECK(f.Kv({KvVerb::kDeleteTree, "svc/", {}, 0, {}, {}}).Ok());
    CHECK(tree.fired == 1);
    CHECK(everything.fired == 1);
  }

  TEST_CASE("table watchers wake for their table only") {
    Fixture f;
    Counter nodes;
    Counter sessions;
    WatchOrDie(f, nodes, StateStore::TopicsForTables({Table::kNodes}), f.store->TableIndex(Table::kNodes));
    WatchOrDie(f, sessions, StateStore::TopicsForTables({Table::kSessions}), f.store->TableIndex(Table::kSessions));
    CHECK(f.Set("k", "v").Ok());
    CHECK(nodes.fired == 0);
    CHECK(f.AddNode("n1").Ok());
    CHECK(nodes.fired == 1);
    CHECK(sessions.fired == 0);
    // An identical re-registration is no change.
    Counter quiet;
    WatchOrDie(f, quiet, StateStore::TopicsForTables({Table::kNodes}), f.store->TableIndex(Table::kNodes));
    CHECK(f.AddNode("n1").Ok());
    CHECK(quiet.fired == 0);
    CHECK(f.CreateSession("s", "n1").Ok());
    CHECK(sessions.fired == 1);
  }

  TEST_CASE("a session invalidation wakes watchers of the keys it releases") {
    Fixture f;
    CHECK(f.AddNode("n1").Ok());
    CHECK(f.CreateSession("s", "n1").Ok());
    CHECK(f.Lock("leader", "s").Ok());
    Counter lock;
    WatchOrDie(f, lock, StateStore::TopicsForKvGet("leader"), f.store->KvGet("leader").index);
    CHECK(f.DestroySession("s").Ok());
    CHECK(lock.fired == 1);
  }

  TEST_CASE("a service watcher wakes for its instances, their nodes and their checks only") {
    Fixture f;
    auto register_service = [&f](const std::string& node, const std::string& name, HealthStatus status) {
      Registration r;
      r.node.name = node;
      Service s;
      s.name = name;
      r.service = s;
      Check node_check;
      node_check.check_id = "serfHealth";
      node_check.status = HealthStatus::kPassing;
      Check service_check;
      service_check.check_id = "check-" + name;
      service_check.service_id = name;
      service_check.status = status;
      r.checks = {node_check, service_check};
      return f.Register(r);
    };
    CHECK(register_service("alpha", "web", HealthStatus::kPassing).Ok());
    CHECK(register_service("beta", "db", HealthStatus::kPassing).Ok());
    auto watch_web = [&f](Counter& c) {
      WatchOrDie(f, c, StateStore::TopicsForService("web"), f.store->ServiceHealthOf("web", {}, false).index);
    };

    Counter first;
    watch_web(first);
    CHECK(register_service("beta", "db", HealthStatus::kCritical).Ok());   // db's check
    CHECK(f.AddCheck("beta", "serfHealth", HealthStatus::kWarning).Ok());  // a node check where web is not
    CHECK(f.AddNode("gamma").Ok());
    CHECK(f.Set("k", "v").Ok());
    CHECK(first.fired == 0);
    CHECK(f.AddCheck("alpha", "serfHealth", HealthStatus::kWarning).Ok());  // web's node check
    CHECK(first.fired == 1);

    Counter node_change;
    watch_web(node_change);
    CHECK(f.AddNode("alpha", "10.9.9.9").Ok());
    CHECK(node_change.fired == 1);

    Counter new_instance;
    watch_web(new_instance);
    CHECK(register_service("beta", "web", HealthStatus::kPassing).Ok());
    CHECK(new_instance.fired == 1);

    Counter removed;
    watch_web(removed);
    const RaftIndex gone = f.Next();
    REQUIRE(f.store->DeregisterNode(gone, f.now_millis, "alpha")->Ok());
    CHECK(removed.fired == 1);
    CHECK(f.store->ServiceHealthOf("web", {}, false).index == gone);
    CHECK(f.store->ServiceHealthOf("web", {}, false).value.size() == 1);
  }

  TEST_CASE("a read older than the topic registers nothing and asks for a re-read") {
    Fixture f;
    CHECK(f.Set("k", "1").Ok());
    const RaftIndex seen = f.store->KvGet("k").index;
    CHECK(f.Set("k", "2").Ok());
    bool fired = false;
    auto id = f.store->Watch(StateStore::TopicsForKvGet("k"), seen, [&fired] { fired = true; });
    REQUIRE(id.IsOk());
    CHECK_FALSE(id->has_value());
    CHECK(f.store->WatcherCount() == 0);
    CHECK_FALSE(fired);
  }

  TEST_CASE("the callback sees the change it was woken for") {
    Fixture f;
    std::string seen_value;
    auto id = f.store->Watch(StateStore::TopicsForKvGet("k"), f.store->KvGet("k").index, [&] {
      auto read = f.store->KvGet("k");
      seen_value = read.value ? read.value->value : "<missing>";
    });
    REQUIRE(id.IsOk());
    CHECK(f.Set("k", "fresh").Ok());
    CHECK(seen_value == "fresh");
  }

  TEST_CASE("watchers are bounded, and cancelling frees a slot") {
    testing::TempDir dir_holder;
    StoreOptions options;
    options.watchers_max = 3;
    Fixture f;
    f.store.reset();
    f.store = testing::OpenOrDie(dir_holder.path, options);
    std::vector<WatchId> ids;
    for (int i = 0; i < 3; ++i) {
      auto id = f.store->Watch(StateStore::TopicsForKvGet("k"), RaftIndex(0), [] {});
      REQUIRE(id.IsOk());
      ids.push_back(**id);
    }
    auto refused = f.store->Watch(StateStore::TopicsForKvGet("k"), RaftIndex(0), [] {});
    CHECK(refused.GetStatus().Code() == StatusCode::kResourceExhausted);
    CHECK(refused.GetStatus().Message().find("kWatchersMax") != std::string::npos);
    CHECK(f.store->CancelWatch(ids[1]));
    CHECK_FALSE(f.store->CancelWatch(ids[1]));
    CHECK(f.store->Watch(StateStore::TopicsForKvGet("k"), RaftIndex(0), [] {}).IsOk());

    auto none = f.store->Watch({}, RaftIndex(0), [] {});
    CHECK(none.GetStatus().Code() == StatusCode::kInvalidArgument);
    std::vector<WatchTopic> many(limits::kWatchTopicsPerWatcherMax + 1, WatchTopic::ForTable(Table::kKv));
    CHECK(f.store->Watch(many, RaftIndex(0), [] {}).GetStatus().Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("a cancelled watcher does not fire") {
    Fixture f;
    Counter c;
    WatchOrDie(f, c, StateStore::TopicsForKvList("p/"), RaftIndex(0));
    CHECK(f.store->CancelWatch(c.id));
    CHECK(f.Set("p/x", "1").Ok());
    CHECK(c.fired == 0);
  }
}

}  // namespace
}  // namespace cairn::catalog
