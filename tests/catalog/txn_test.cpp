#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::Fixture;

KvOp Op(KvVerb verb, std::string key, std::string value = "", uint64_t index = 0, std::string session = "") {
  return {verb, std::move(key), std::move(value), 0, RaftIndex(index), std::move(session)};
}

TxnResult RunTxn(Fixture& f, const std::vector<TxnOp>& ops) {
  auto result = f.store->Txn(f.Next(), f.now_millis, ops);
  REQUIRE_MESSAGE(result.IsOk(), result.GetStatus().ToString());
  return *result;
}

TEST_SUITE("catalog.txn") {
  TEST_CASE("a successful transaction applies every op at one index, reads its own writes") {
    Fixture f;
    REQUIRE(f.Set("existing", "old").Ok());  // 1
    TxnResult r = RunTxn(f, {Op(KvVerb::kSet, "a", "1"), Op(KvVerb::kCas, "existing", "new", 1),
                             Op(KvVerb::kCheckIndex, "existing", "", 2), Op(KvVerb::kGet, "a"),
                             Op(KvVerb::kCheckNotExists, "b"), Op(KvVerb::kDelete, "missing")});
    REQUIRE(r.Committed());
    REQUIRE(r.results.size() == 3);  // set, cas, get
    const auto& set = std::get<KvEntry>(r.results[0]);
    CHECK(set.key == "a");
    CHECK(set.value.empty());  // writes report no value
    CHECK(set.modify_index == RaftIndex(2));
    CHECK(std::get<KvEntry>(r.results[2]).value == "1");
    CHECK(f.Get("existing")->value == "new");
    CHECK(f.Get("existing")->modify_index == RaftIndex(2));
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(2));
  }

  TEST_CASE("one failing op rolls everything back and every error is reported") {
    Fixture f;
    REQUIRE(f.Set("k", "v").Ok());  // 1
    TxnResult r = RunTxn(f, {Op(KvVerb::kSet, "new", "x"), Op(KvVerb::kCas, "k", "y", 99), Op(KvVerb::kDelete, "k"),
                             Op(KvVerb::kCheckNotExists, "new"), Op(KvVerb::kGet, "nope")});
    CHECK_FALSE(r.Committed());
    CHECK(r.results.empty());
    REQUIRE(r.errors.size() == 3);
    CHECK(r.errors[0].op_index == 1);
    CHECK(r.errors[0].what.find("stale") != std::string::npos);
    CHECK(r.errors[1].op_index == 3);  // "new" exists inside the txn
    CHECK(r.errors[2].op_index == 4);
    CHECK_FALSE(f.Get("new"));
    CHECK(f.Get("k")->value == "v");
    CHECK(f.store->TableIndex(Table::kKv) == RaftIndex(1));
    CHECK(f.store->AppliedIndex() == RaftIndex(2));
  }

  TEST_CASE("locks and sessions inside a transaction") {
    Fixture f;
    REQUIRE(f.AddNode("n1").Ok());
    REQUIRE(f.CreateSession("s", "n1").Ok());
    TxnResult r = RunTxn(f, {Op(KvVerb::kLock, "lock", "v", 0, "s"), Op(KvVerb::kCheckSession, "lock", "", 0, "s")});
    REQUIRE(r.Committed());
    CHECK(std::get<KvEntry>(r.results[0]).session == "s");
    CHECK(std::get<KvEntry>(r.results[0]).lock_index == 1);
    r = RunTxn(f, {Op(KvVerb::kCheckSession, "lock", "", 0, "other")});
    CHECK_FALSE(r.Committed());
    r = RunTxn(f, {Op(KvVerb::kSet, "x", "1"), Op(KvVerb::kLock, "lock2", "v", 0, "ghost")});
    CHECK_FALSE(r.Committed());
    CHECK_FALSE(f.Get("x"));
  }

  TEST_CASE("get-tree and delete-tree") {
    Fixture f;
    REQUIRE(f.Set("t/1", "a").Ok());
    REQUIRE(f.Set("t/2", "b").Ok());
    REQUIRE(f.Set("u", "c").Ok());
    TxnResult r = RunTxn(f, {Op(KvVerb::kGetTree, "t/"), Op(KvVerb::kDeleteTree, "t/"), Op(KvVerb::kGetTree, "t/")});
    REQUIRE(r.Committed());
    REQUIRE(r.results.size() == 2);
    CHECK(std::get<KvEntry>(r.results[1]).value == "b");
    CHECK(f.store->KvList("").value.size() == 1);
  }

  TEST_CASE("catalog ops and KV ops commit together") {
    Fixture f;
    Node node;
    node.name = "n1";
    node.address = "10.1.1.1";
    Service service;
    service.node = "n1";
    service.name = "api";
    Check check;
    check.node = "n1";
    check.check_id = "api-alive";
    check.service_id = "api";
    check.status = HealthStatus::kPassing;
    TxnResult r = RunTxn(f, {NodeTxnOp{NodeTxnOp::Verb::kSet, node}, ServiceTxnOp{ServiceTxnOp::Verb::kSet, service},
                             CheckTxnOp{CheckTxnOp::Verb::kSet, check}, Op(KvVerb::kSet, "api/config", "{}")});
    REQUIRE(r.Committed());
    REQUIRE(r.results.size() == 4);
    CHECK(std::get<Service>(r.results[1]).id == "api");
    CHECK(std::get<Check>(r.results[2]).service_name == "api");
    CHECK(f.store->ServiceHealthOf("api", std::nullopt, true).value.size() == 1);

    // A failing KV op takes the catalog change down with it.
    Node other;
    other.name = "n2";
    r = RunTxn(f, {NodeTxnOp{NodeTxnOp::Verb::kSet, other}, Op(KvVerb::kCas, "api/config", "x", 999)});
    CHECK_FALSE(r.Committed());
    CHECK_FALSE(f.store->GetNode("n2").value);

    r = RunTxn(f, {NodeTxnOp{NodeTxnOp::Verb::kGet, node}, NodeTxnOp{NodeTxnOp::Verb::kDelete, node},
                   NodeTxnOp{NodeTxnOp::Verb::kGet, node}});
    CHECK_FALSE(r.Committed());  // the second get finds nothing
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].op_index == 2);
    CHECK(f.store->GetNode("n1").value);

    r = RunTxn(f, {NodeTxnOp{NodeTxnOp::Verb::kDelete, node}});
    REQUIRE(r.Committed());
    CHECK(f.store->Services().value.empty());
    CHECK(f.Get("api/config"));
  }

  TEST_CASE("a read-only transaction answers from current state without an index") {
    Fixture f;
    REQUIRE(f.Set("r/1", "a").Ok());
    REQUIRE(f.AddNode("n1").Ok());
    Node n1;
    n1.name = "n1";
    auto r = f.store->TxnRead(
        {Op(KvVerb::kGet, "r/1"), Op(KvVerb::kCheckIndex, "r/1", "", 1), NodeTxnOp{NodeTxnOp::Verb::kGet, n1}});
    REQUIRE(r.IsOk());
    REQUIRE(r->Committed());
    REQUIRE(r->results.size() == 2);
    CHECK(std::get<KvEntry>(r->results[0]).value == "a");
    CHECK(std::get<Node>(r->results[1]).name == "n1");
    CHECK(f.store->AppliedIndex() == RaftIndex(2));

    r = f.store->TxnRead({Op(KvVerb::kGet, "r/1"), Op(KvVerb::kSet, "r/2", "b"), Op(KvVerb::kGet, "missing")});
    REQUIRE(r.IsOk());
    REQUIRE(r->errors.size() == 2);
    CHECK(r->errors[0].op_index == 1);
    CHECK(r->errors[1].op_index == 2);
    CHECK(r->results.empty());
    CHECK_FALSE(f.Get("r/2"));
  }

  TEST_CASE("more than kTxnOpsMax ops is refused whole") {
    Fixture f;
    std::vector<TxnOp> ops;
    for (size_t i = 0; i <= limits::kTxnOpsMax; ++i) ops.push_back(Op(KvVerb::kSet, "k" + std::to_string(i), "v"));
    TxnResult r = RunTxn(f, ops);
    CHECK_FALSE(r.Committed());
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].what.find("kTxnOpsMax") != std::string::npos);
    CHECK(f.store->KvList("").value.empty());
    ops.pop_back();
    CHECK(RunTxn(f, ops).Committed());
    CHECK(f.store->KvList("").value.size() == limits::kTxnOpsMax);
  }

  TEST_CASE("a rolled-back transaction wakes nobody") {
    Fixture f;
    REQUIRE(f.Set("k", "v").Ok());
    int fired = 0;
    REQUIRE(f.store->Watch(StateStore::TopicsForKvList(""), f.store->KvList("").index, [&fired] { ++fired; }).IsOk());
    TxnResult r = RunTxn(f, {Op(KvVerb::kSet, "a", "1"), Op(KvVerb::kCas, "k", "x", 5)});
    CHECK_FALSE(r.Committed());
    CHECK(fired == 0);
    REQUIRE(RunTxn(f, {Op(KvVerb::kSet, "a", "1")}).Committed());
    CHECK(fired == 1);
  }
}

}  // namespace
}  // namespace cairn::catalog
