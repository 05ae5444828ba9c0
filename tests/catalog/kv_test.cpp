#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::Fixture;

TEST_SUITE("catalog.kv") {
  TEST_CASE("set creates then updates, keeping CreateIndex and bumping ModifyIndex") {
    Fixture f;
    CHECK(f.Set("app/config", "v1", 42).Ok());
    auto first = f.store->KvGet("app/config");
    REQUIRE(first.value);
    CHECK(first.value->value == "v1");
    CHECK(first.value->flags == 42);
    CHECK(first.value->create_index == RaftIndex(1));
    CHECK(first.value->modify_index == RaftIndex(1));
    CHECK(first.index == RaftIndex(1));

    CHECK(f.Set("app/config", "v2").Ok());
    auto second = f.store->KvGet("app/config");
    REQUIRE(second.value);
    CHECK(second.value->value == "v2");
    CHECK(second.value->create_index == RaftIndex(1));
    CHECK(second.value->modify_index == RaftIndex(2));
    CHECK(f.store->AppliedIndex() == RaftIndex(2));
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(2));
  }

  TEST_CASE("a present key reports its own ModifyIndex; a missing one the table index, deletes included") {
    Fixture f;
    CHECK(f.Set("a", "1").Ok());  // 1
    CHECK(f.Set("b", "1").Ok());  // 2
    CHECK(f.store->KvGet("a").index == RaftIndex(1));
    CHECK(f.store->KvGet("missing").index == RaftIndex(2));
    CHECK(f.Delete("b").Ok());  // 3
    auto gone = f.store->KvGet("b");
    CHECK_FALSE(gone.value);
    CHECK(gone.index == RaftIndex(3));
    CHECK(f.store->KvGet("a").index == RaftIndex(1));
  }

  TEST_CASE("cas: 0 only creates, a stale index is refused, the current index writes") {
    Fixture f;
    CHECK(f.Cas("k", "created", 0).Ok());      // 1
    Outcome again = f.Cas("k", "clobber", 0);  // 2
    CHECK(again.code == OutcomeCode::kRejected);
    CHECK(f.Get("k")->value == "created");

    Outcome stale = f.Cas("k", "stale", 7);  // 3
    CHECK(stale.code == OutcomeCode::kRejected);
    CHECK(f.Get("k")->value == "created");
    CHECK(f.Get("k")->modify_index == RaftIndex(1));

    CHECK(f.Cas("k", "updated", 1).Ok());  // 4
    CHECK(f.Get("k")->value == "updated");
    CHECK(f.Get("k")->modify_index == RaftIndex(4));
    // Rejections consume their index but do not move the table's.
    CHECK(f.store->AppliedIndex() == RaftIndex(4));
    CHECK(f.Cas("nothing-here", "x", 4).code == OutcomeCode::kRejected);  // 5
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(4));
    CHECK(f.store->AppliedIndex() == RaftIndex(5));
  }

  TEST_CASE("delete-cas deletes only at the current index") {
    Fixture f;
    CHECK(f.Set("k", "v").Ok());  // 1
    CHECK(f.Kv({KvVerb::kDeleteCas, "k", {}, 0, RaftIndex(9), {}}).code == OutcomeCode::kRejected);
    CHECK(f.Get("k"));
    CHECK(f.Kv({KvVerb::kDeleteCas, "k", {}, 0, RaftIndex(1), {}}).Ok());
    CHECK_FALSE(f.Get("k"));
    // An absent key counts as deleted, as in Consul.
    CHECK(f.Kv({KvVerb::kDeleteCas, "k", {}, 0, RaftIndex(1), {}}).Ok());
  }

  TEST_CASE("deleting a missing key changes nothing") {
    Fixture f;
    CHECK(f.Set("a", "1").Ok());
    CHECK(f.Delete("zzz").Ok());
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(1));
    CHECK(f.store->AppliedIndex() == RaftIndex(2));
  }

  TEST_CASE("list returns keys under the prefix in order, indexed by the highest change under it") {
    Fixture f;
    CHECK(f.Set("web/b", "2").Ok());      // 1
    CHECK(f.Set("web/a", "1").Ok());      // 2
    CHECK(f.Set("db/x", "3").Ok());       // 3
    CHECK(f.Set("web-other", "4").Ok());  // 4
    auto list = f.store->KvList("web/");
    REQUIRE(list.value.size() == 2);
    CHECK(list.value[0].key == "web/a");
    CHECK(list.value[1].key == "web/b");
    CHECK(list.index == RaftIndex(2));

    CHECK(f.Delete("web/b").Ok());  // 5: the tombstone raises the prefix's index
    list = f.store->KvList("web/");
    CHECK(list.value.size() == 1);
    CHECK(list.index == RaftIndex(5));
    CHECK(f.store->KvList("db/").index == RaftIndex(3));
    // Nothing under the prefix at all: the table index.
    CHECK(f.store->KvList("nope/").index == RaftIndex(5));
    CHECK(f.store->KvList("").value.size() == 3);
  }

  TEST_CASE("delete-tree removes exactly the prefix and leaves tombstones") {
    Fixture f;
    CHECK(f.Set("svc/a", "1").Ok());
    CHECK(f.Set("svc/b/c", "2").Ok());
    CHECK(f.Set("svcx", "3").Ok());
    CHECK(f.Kv({KvVerb::kDeleteTree, "svc/", {}, 0, {}, {}}).Ok());  // 4
    CHECK_FALSE(f.Get("svc/a"));
    CHECK_FALSE(f.Get("svc/b/c"));
    CHECK(f.Get("svcx"));
    CHECK(f.store->KvList("svc/").index == RaftIndex(4));
    CHECK(f.store->KvGet("svc/a").index == RaftIndex(4));
    // Recreating a deleted key starts a new life: new CreateIndex.
    CHECK(f.Set("svc/a", "again").Ok());  // 5
    CHECK(f.Get("svc/a")->create_index == RaftIndex(5));
  }

  TEST_CASE("keys with a separator fold sub-trees into one entry") {
    Fixture f;
    for (const char* key : {"app/a", "app/b/1", "app/b/2", "app/c/x/y", "apple"}) CHECK(f.Set(key, "v").Ok());
    auto keys = f.store->KvKeys("app/", "/");
    CHECK(keys.value == std::vector<std::string>{"app/a", "app/b/", "app/c/"});
    CHECK(keys.index == RaftIndex(4));
    auto all = f.store->KvKeys("app", "");
    CHECK(all.value == std::vector<std::string>{"app/a", "app/b/1", "app/b/2", "app/c/x/y", "apple"});
    CHECK(f.store->KvKeys("", "/").value == std::vector<std::string>{"app/", "apple"});
  }

  TEST_CASE("bad keys and values are rejected without changing anything") {
    Fixture f;
    CHECK(f.Set("/leading", "v").code == OutcomeCode::kInvalidArgument);
    CHECK(f.Set("", "v").code == OutcomeCode::kInvalidArgument);
    CHECK(f.Set(std::string("bad\xff", 4), "v").code == OutcomeCode::kInvalidArgument);
    CHECK(f.Set(std::string("\xc0\xaf", 2), "v").code == OutcomeCode::kInvalidArgument);      // overlong '/'
    CHECK(f.Set(std::string("\xed\xa0\x80", 3), "v").code == OutcomeCode::kInvalidArgument);  // surrogate
    CHECK(f.Set(std::string("\xe2\x82", 2), "v").code == OutcomeCode::kInvalidArgument);      // truncated
    CHECK(f.Set("emoji/\xf0\x9f\x98\x80", "v").Ok());
    CHECK(f.Set("caf\xc3\xa9", "v").Ok());  // é is fine
    CHECK(f.Set(std::string(limits::kKvKeyBytesMax + 1, 'k'), "v").code == OutcomeCode::kInvalidArgument);
    Outcome big = f.Set("big", std::string(limits::kKvValueBytesMax + 1, 'x'));
    CHECK(big.code == OutcomeCode::kInvalidArgument);
    CHECK(big.message.find("kKvValueBytesMax") != std::string::npos);
    CHECK(f.Set("max", std::string(limits::kKvValueBytesMax, 'x')).Ok());
    CHECK_FALSE(f.Get("big"));
    CHECK(f.store->KvList("").value.size() == 3);
    CHECK(f.Kv({KvVerb::kGet, "k", {}, 0, {}, {}}).code == OutcomeCode::kInvalidArgument);
  }

  TEST_CASE("command indexes must increase") {
    Fixture f;
    CHECK(f.Set("a", "1").Ok());
    auto replay = f.store->ApplyKv(RaftIndex(1), 0, {KvVerb::kSet, "a", "2", 0, {}, {}});
    CHECK(replay.GetStatus().Code() == StatusCode::kFailedPrecondition);
    CHECK(f.Get("a")->value == "1");
    CHECK(f.store->AdvanceApplied(RaftIndex(10)).IsOk());
    CHECK(f.store->AppliedIndex() == RaftIndex(10));
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(1));
  }

  TEST_CASE("reaping drops old tombstones only") {
    Fixture f;
    CHECK(f.Set("p/a", "1").Ok());  // 1
    CHECK(f.Set("p/b", "1").Ok());  // 2
    CHECK(f.Delete("p/a").Ok());    // 3
    CHECK(f.Delete("p/b").Ok());    // 4
    CHECK(f.Set("z", "1").Ok());    // 5
    CHECK(f.store->KvList("p/a").index == RaftIndex(3));
    CHECK(f.store->KvList("p/b").index == RaftIndex(4));
    REQUIRE(f.store->ReapTombstones(f.Next(), f.now_millis, RaftIndex(3)).IsOk());  // 6
    CHECK(f.store->KvList("p/a").index == RaftIndex(5));                            // falls back to the table index
    CHECK(f.store->KvList("p/b").index == RaftIndex(4));
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(5));
  }
}

}  // namespace
}  // namespace cairn::catalog
