#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::Fixture;

Registration WebOn(const std::string& node, const std::string& id, std::vector<std::string> tags,
                   HealthStatus service_check) {
  Registration r;
  r.node.name = node;
  r.node.address = "10.0.0." + std::to_string(node.size());
  r.node.datacenter = "dc1";
  r.node.meta = {{"rack", "r1"}};
  Service s;
  s.id = id;
  s.name = "web";
  s.tags = std::move(tags);
  s.port = 8080;
  s.weights = {3, 1};
  r.service = s;
  Check node_check;
  node_check.check_id = "serfHealth";
  node_check.status = HealthStatus::kPassing;
  Check svc_check;
  svc_check.check_id = "service:" + id;
  svc_check.service_id = id;
  svc_check.status = service_check;
  r.checks = {node_check, svc_check};
  return r;
}

TEST_SUITE("catalog.nodes") {
  TEST_CASE("registration stores node, service and checks, readable every way") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {"v1", "primary"}, HealthStatus::kPassing)).Ok());  // 1
    CHECK(f.Register(WebOn("beta", "web-2", {"v1"}, HealthStatus::kCritical)).Ok());             // 2

    auto node = f.store->GetNode("alpha");
    REQUIRE(node.value);
    CHECK(node.value->datacenter == "dc1");
    CHECK(node.value->meta.at("rack") == "r1");
    CHECK(node.value->create_index == RaftIndex(1));
    CHECK(node.index == RaftIndex(2));
    CHECK(f.store->Nodes().value.size() == 2);

    auto services = f.store->NodeServices("alpha");
    REQUIRE(services.value.size() == 1);
    CHECK(services.value[0].port == 8080);
    CHECK(services.value[0].weights == Weights{3, 1});

    auto catalog = f.store->Services();
    REQUIRE(catalog.value.count("web") == 1);
    CHECK(catalog.value.at("web") == std::vector<std::string>{"primary", "v1"});

    CHECK(f.store->ServiceNodes("web").value.size() == 2);
    auto primary = f.store->ServiceNodes("web", "primary");
    REQUIRE(primary.value.size() == 1);
    CHECK(primary.value[0].node.name == "alpha");
    CHECK(f.store->ServiceNodes("db").value.empty());

    CHECK(f.store->NodeChecks("beta").value.size() == 2);
    auto svc_checks = f.store->ServiceChecks("web");
    REQUIRE(svc_checks.value.size() == 2);
    CHECK(svc_checks.value[0].service_name == "web");
    auto critical = f.store->ChecksInState(HealthStatus::kCritical);
    REQUIRE(critical.value.size() == 1);
    CHECK(critical.value[0].node == "beta");
    CHECK(f.store->ChecksInState(std::nullopt).value.size() == 4);
  }

  TEST_CASE("health by service: node and service checks, passing-only filter") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {}, HealthStatus::kPassing)).Ok());
    CHECK(f.Register(WebOn("beta", "web-2", {}, HealthStatus::kCritical)).Ok());
    auto all = f.store->ServiceHealthOf("web", std::nullopt, false);
    REQUIRE(all.value.size() == 2);
    CHECK(all.value[0].checks.size() == 2);
    CHECK(all.index == RaftIndex(2));
    auto passing = f.store->ServiceHealthOf("web", std::nullopt, true);
    REQUIRE(passing.value.size() == 1);
    CHECK(passing.value[0].node.name == "alpha");
    // A warning node check also fails passing-only.
    CHECK(f.AddCheck("alpha", "serfHealth", HealthStatus::kWarning).Ok());
    CHECK(f.store->ServiceHealthOf("web", std::nullopt, true).value.empty());
  }

  TEST_CASE("an identical re-registration changes no index; a changed one keeps CreateIndex") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {"v1"}, HealthStatus::kPassing)).Ok());  // 1
    CHECK(f.Register(WebOn("alpha", "web-1", {"v1"}, HealthStatus::kPassing)).Ok());  // 2
    CHECK(f.store->TableIndex(Table::kNodes) == RaftIndex(1));
    CHECK(f.store->TableIndex(Table::kServices) == RaftIndex(1));
    CHECK(f.store->TableIndex(Table::kChecks) == RaftIndex(1));
    CHECK(f.store->AppliedIndex() == RaftIndex(2));

    CHECK(f.Register(WebOn("alpha", "web-1", {"v2"}, HealthStatus::kPassing)).Ok());  // 3
    auto svc = f.store->NodeServices("alpha").value.at(0);
    CHECK(svc.tags == std::vector<std::string>{"v2"});
    CHECK(svc.create_index == RaftIndex(1));
    CHECK(svc.modify_index == RaftIndex(3));
    CHECK(f.store->TableIndex(Table::kNodes) == RaftIndex(1));
    CHECK(f.store->TableIndex(Table::kServices) == RaftIndex(3));
  }

  TEST_CASE("a bad part rejects the whole registration") {
    Fixture f;
    Registration r = WebOn("alpha", "web-1", {}, HealthStatus::kPassing);
    r.checks[1].service_id = "no-such-service";
    CHECK(f.Register(r).code == OutcomeCode::kNotFound);
    CHECK_FALSE(f.store->GetNode("alpha").value);
    CHECK(f.store->NodeServices("alpha").value.empty());
    CHECK(f.store->TableIndex(Table::kNodes) == RaftIndex(0));
    CHECK(f.store->AppliedIndex() == RaftIndex(1));

    Registration nameless;
    nameless.node.name = "";
    CHECK(f.Register(nameless).code == OutcomeCode::kInvalidArgument);
    Registration mismatched = WebOn("alpha", "web-1", {}, HealthStatus::kPassing);
    mismatched.checks[0].node = "other";
    CHECK(f.Register(mismatched).code == OutcomeCode::kInvalidArgument);
    CHECK(f.store->Nodes().value.empty());
  }

  TEST_CASE("a service's index moves with its own changes only, survives restart, and falls back when it is gone") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {}, HealthStatus::kPassing)).Ok());  // 1
    Registration db;
    db.node.name = "beta";
    Service s;
    s.name = "db";
    db.service = s;
    CHECK(f.Register(db).Ok());  // 2
    CHECK(f.store->ServiceNodes("web").index == RaftIndex(1));
    CHECK(f.store->ServiceNodes("db").index == RaftIndex(2));
    CHECK(f.AddCheck("alpha", "service:web-1", HealthStatus::kWarning, "web-1").Ok());  // 3
    CHECK(f.store->ServiceHealthOf("web", {}, false).index == RaftIndex(3));
    CHECK(f.store->ServiceNodes("db").index == RaftIndex(2));

    f.store.reset();
    f.store = testing::OpenOrDie(f.dir.path);
    CHECK(f.store->ServiceNodes("web").index == RaftIndex(3));
    CHECK(f.store->ServiceNodes("db").index == RaftIndex(2));

    REQUIRE(f.store->DeregisterService(f.Next(), f.now_millis, "beta", "db")->Ok());  // 4
    CHECK(f.store->ServiceNodes("db").index == RaftIndex(4));
    CHECK(f.store->ServiceNodes("never").index == RaftIndex(4));
    f.store.reset();
    f.store = testing::OpenOrDie(f.dir.path);
    CHECK(f.store->ServiceNodes("db").index == RaftIndex(4));
  }

  TEST_CASE("renaming a service carries its checks along") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {}, HealthStatus::kPassing)).Ok());
    Registration renamed = WebOn("alpha", "web-1", {}, HealthStatus::kPassing);
    renamed.service->name = "frontend";
    renamed.checks.clear();  // the existing service check must follow on its own
    CHECK(f.Register(renamed).Ok());
    CHECK(f.store->ServiceChecks("web").value.empty());
    auto checks = f.store->ServiceChecks("frontend").value;
    REQUIRE(checks.size() == 1);
    CHECK(checks[0].service_name == "frontend");
    CHECK(f.store->ServiceNodes("web").value.empty());
    CHECK(f.store->ServiceHealthOf("frontend", {}, false).value.at(0).checks.size() == 2);
    CHECK(f.store->Services().value.count("web") == 0);
  }

  TEST_CASE("deregistering a service removes its checks but not the node's") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {}, HealthStatus::kPassing)).Ok());
    REQUIRE(f.store->DeregisterService(f.Next(), f.now_millis, "alpha", "web-1")->Ok());
    CHECK(f.store->NodeServices("alpha").value.empty());
    auto checks = f.store->NodeChecks("alpha").value;
    REQUIRE(checks.size() == 1);
    CHECK(checks[0].check_id == "serfHealth");
    CHECK(f.store->Services().value.empty());
    CHECK(f.store->GetNode("alpha").value);
    // Absent things deregister as a no-op.
    const RaftIndex before = f.store->TableIndex(Table::kServices);
    REQUIRE(f.store->DeregisterService(f.Next(), f.now_millis, "alpha", "web-1")->Ok());
    CHECK(f.store->TableIndex(Table::kServices) == before);
  }

  TEST_CASE("deregistering a node cascades to its services and checks only") {
    Fixture f;
    CHECK(f.Register(WebOn("alpha", "web-1", {}, HealthStatus::kPassing)).Ok());
    CHECK(f.Register(WebOn("beta", "web-2", {}, HealthStatus::kPassing)).Ok());
    const RaftIndex gone = f.Next();
    REQUIRE(f.store->DeregisterNode(gone, f.now_millis, "alpha")->Ok());
    CHECK_FALSE(f.store->GetNode("alpha").value);
    CHECK(f.store->NodeServices("alpha").value.empty());
    CHECK(f.store->NodeChecks("alpha").value.empty());
    CHECK(f.store->ServiceNodes("web").value.size() == 1);
    CHECK(f.store->NodeChecks("beta").value.size() == 2);
    CHECK(f.store->TableIndex(Table::kNodes) == gone);
    CHECK(f.store->TableIndex(Table::kServices) == gone);
    CHECK(f.store->TableIndex(Table::kChecks) == gone);
  }

  TEST_CASE("a service or check on an unknown node is refused") {
    Fixture f;
    CHECK(f.AddNode("alpha").Ok());
    std::vector<TxnOp> ops;
    Service s;
    s.node = "ghost";
    s.name = "web";
    ops.push_back(ServiceTxnOp{ServiceTxnOp::Verb::kSet, s});
    auto result = f.store->Txn(f.Next(), f.now_millis, ops);
    REQUIRE(result.IsOk());
    CHECK_FALSE(result->Committed());
    CHECK(f.store->Services().value.empty());
  }
}

}  // namespace
}  // namespace cairn::catalog
