// /v1/agent/*, /v1/status/* and /v1/operator/raft/*.
#include "catalog/command.h"
#include "tests/http/http_fixture.h"

namespace cairn::http::testing {
namespace {

TEST_SUITE("http.agent") {
  TEST_CASE("a service with a TTL check registers locally and in the catalog; ids may contain '/'") {
    ApiFixture f;
    auto res = f.Put("/v1/agent/service/register",
                     R"({"name":"web","id":"web/1","tags":["a"],"port":8080,"weights":{"passing":3,"warning":1},
                         "check":{"ttl":"15s","notes":"n"}})");
    REQUIRE_MESSAGE(res.status == 200, res.body);
    Json services = BodyJson(f.Get("/v1/agent/services"));
    CHECK(services["web/1"]["Service"] == "web");
    CHECK(services["web/1"]["Weights"]["Passing"] == 3);
    Json checks = BodyJson(f.Get("/v1/agent/checks"));
    REQUIRE(checks.contains("service:web/1"));
    CHECK(checks["service:web/1"]["Status"] == "critical");
    CHECK(checks["service:web/1"]["Name"] == "Service 'web' check");
    CHECK(checks["service:web/1"]["Definition"]["TTL"] == "15s");
    Json catalog = BodyJson(f.Get("/v1/catalog/service/web"));
    REQUIRE(catalog.size() == 1);
    CHECK(catalog[0]["Node"] == "node1");

    CHECK(f.Put("/v1/agent/check/pass/service:web/1?note=all%20good").status == 200);
    Json health = BodyJson(f.Get("/v1/health/service/web?passing"));
    REQUIRE(health.size() == 1);
    CHECK(health[0]["Checks"][0]["Output"] == "all good");
    CHECK(f.Put("/v1/agent/check/warn/service:web/1").status == 200);
    CHECK(BodyJson(f.Get("/v1/health/state/warning")).size() == 1);
    CHECK(f.Put("/v1/agent/check/fail/service:web/1?note=boom").status == 200);
    CHECK(BodyJson(f.Get("/v1/health/state/critical"))[0]["Output"] == "boom");
    CHECK(f.Put("/v1/agent/check/update/service:web/1", R"({"status":"passing","output":"fine"})").status == 200);
    CHECK(BodyJson(f.Get("/v1/agent/checks"))["service:web/1"]["Output"] == "fine");

    CHECK(f.Put("/v1/agent/service/deregister/web/1").status == 200);
    CHECK(BodyJson(f.Get("/v1/agent/services")).empty());
    CHECK(BodyJson(f.Get("/v1/agent/checks")).empty());
    CHECK(BodyJson(f.Get("/v1/catalog/service/web")).empty());
    CHECK(f.Put("/v1/agent/service/deregister/web/1").status == 404);
  }

  TEST_CASE("node-level checks register, update and deregister; ids may contain '/'") {
    ApiFixture f;
    REQUIRE(f.Put("/v1/agent/check/register", R"({"Name":"disk","ID":"disk/root","TTL":"0.001s","Status":"passing"})")
                .status == 200);
    Json check = BodyJson(f.Get("/v1/agent/checks"))["disk/root"];
    CHECK(check["Status"] == "passing");
    CHECK(check["Definition"]["TTL"] == "1ms");
    CHECK(f.Put("/v1/agent/check/register", R"({"Name":"mem","TTL":"1m30s"})").status == 200);
    CHECK(BodyJson(f.Get("/v1/agent/checks")).contains("mem"));
    CHECK(
        f.Put("/v1/agent/check/register", R"({"Name":"probe","HTTP":"http://127.0.0.1:1/","Interval":"10s"})").status ==
        200);
    CHECK(f.Put("/v1/agent/check/fail/disk/root").status == 200);
    CHECK(BodyJson(f.Get("/v1/health/node/node1")).size() == 3);
    CHECK(f.Put("/v1/agent/check/deregister/disk/root").status == 200);
    CHECK_FALSE(BodyJson(f.Get("/v1/agent/checks")).contains("disk/root"));
    CHECK(f.Put("/v1/agent/check/deregister/disk/root").status == 404);
    CHECK(f.Put("/v1/agent/check/pass/nope").status == 404);
  }

  TEST_CASE("bad service and check definitions are 400 and change nothing") {
    ApiFixture f;
    const size_t writes = f.backend.Writes();
    CHECK(f.Put("/v1/agent/service/register", R"({"Port":80})").body == "Missing service name");
    CHECK(f.Put("/v1/agent/service/register", R"({"Name":"x","Port":-1})").status == 400);
    CHECK(f.Put("/v1/agent/service/register", R"({"Name":"x","Tags":"a"})").status == 400);
    CHECK(f.Put("/v1/agent/service/register", R"({"Name":"x","Check":{"TTL":"soon"}})").status == 400);
    CHECK(f.Put("/v1/agent/service/register", R"({"Name":"x","Check":{"Interval":"10s"}})").status == 400);
    CHECK(
        f.Put("/v1/agent/service/register", R"({"Name":"x","Check":{"Args":["/bin/true"],"Interval":"10s"}})").status ==
        400);
    CHECK(f.Put("/v1/agent/service/register", R"({"Name":"x","Mystery":1})").status == 400);
    CHECK(f.Put("/v1/agent/check/register", R"({"TTL":"10s"})").body == "Missing check name");
    CHECK(f.Put("/v1/agent/check/register", R"({"Name":"c","TTL":"10s","HTTP":"http://x/"})").status == 400);
    REQUIRE(f.Put("/v1/agent/check/register", R"({"Name":"t","TTL":"10s"})").status == 200);
    CHECK(f.Put("/v1/agent/check/update/t", R"({"Status":"sideways"})").status == 400);
    CHECK(f.Put("/v1/agent/check/update/t", R"({"Output":"no status"})").status == 400);
    CHECK(f.backend.Writes() == writes + 1);
    CHECK(BodyJson(f.Get("/v1/agent/services")).empty());
  }

  TEST_CASE("self, members and membership changes") {
    ApiFixture f;
    Json self = BodyJson(f.Get("/v1/agent/self"));
    CHECK(self["Config"]["NodeName"] == "node1");
    CHECK(self["Config"]["Datacenter"] == "dc1");
    CHECK(self["Config"]["Server"] == true);
    CHECK(self["Member"]["Port"] == 8301);
    CHECK(self["Stats"]["agent"]["services"] == "0");  // the sections `cairn info` prints
    Json members = BodyJson(f.Get("/v1/agent/members"));
    REQUIRE(members.size() == 2);
    CHECK(members[1]["Name"] == "node2");
    CHECK(members[1]["Status"] == 4);
    CHECK(members[0]["Tags"]["role"] == "consul");
    CHECK(f.Put("/v1/agent/join/10.0.0.5:8301").status == 200);
    CHECK(f.Put("/v1/agent/join/nonsense").status == 400);
    CHECK(f.Put("/v1/agent/force-leave/node2").status == 200);
    CHECK(f.Put("/v1/agent/leave").status == 200);
    CHECK(f.backend.MembershipCalls() == std::vector<std::string>{"join 10.0.0.5:8301", "force-leave node2", "leave"});
  }
}

TEST_SUITE("http.status") {
  TEST_CASE("leader, peers and the raft configuration") {
    ApiFixture f;
    CHECK(BodyJson(f.Get("/v1/status/leader")) == "127.0.0.1:8300");
    CHECK(BodyJson(f.Get("/v1/status/peers")) == Json({"127.0.0.1:8300", "127.0.0.2:8300"}));
    Json config = BodyJson(f.Get("/v1/operator/raft/configuration"));
    REQUIRE(config["Servers"].size() == 2);
    CHECK(config["Servers"][0]["Leader"] == true);
    CHECK(config["Servers"][1]["Node"] == "node2");
    CHECK(config["Index"] == TestBackend::kRaftConfigurationIndex);
    f.backend.SetLeaderKnown(false);
    CHECK(BodyJson(f.Get("/v1/status/leader")) == "");
  }

  TEST_CASE("a forwarded write is applied and answered in the replicated encoding") {
    ApiFixture f;
    catalog::KvOp op;
    op.key = "fwd";
    op.value = "payload";
    const std::string command = catalog::EncodeCommand({0, catalog::KvCommand{op}});
    auto res = f.Check(f.client->Put("/v1/internal/forward", command, "application/octet-stream"), "forward");
    REQUIRE_MESSAGE(res.status == 200, res.body);
    auto result = catalog::DecodeCommandResult(res.body);
    REQUIRE(result.IsOk());
    CHECK(result->outcome.Ok());
    CHECK(result->index.value == f.backend.AppliedIndex());
    CHECK(f.Get("/v1/kv/fwd?raw").body == "payload");
    const size_t writes = f.backend.Writes();
    auto garbage = f.Check(
        f.client->Put("/v1/internal/forward", command.substr(0, command.size() - 2), "application/octet-stream"),
        "forward");
    CHECK(garbage.status == 400);
    CHECK(f.backend.Writes() == writes);
    f.backend.SetLeaderKnown(false);
    CHECK(f.Check(f.client->Put("/v1/internal/forward", command, "application/octet-stream"), "forward").status == 500);
  }

  TEST_CASE("removing a raft peer by id or address") {
    ApiFixture f;
    CHECK(f.Delete("/v1/operator/raft/peer").status == 400);
    CHECK(f.Delete("/v1/operator/raft/peer?id=a&address=b").status == 400);
    CHECK(f.Delete("/v1/operator/raft/peer?id=unknown").status == 404);
    CHECK(f.Delete("/v1/operator/raft/peer?address=127.0.0.2:8300").status == 200);
    CHECK(BodyJson(f.Get("/v1/status/peers")) == Json({"127.0.0.1:8300"}));
    CHECK(f.Delete("/v1/operator/raft/peer?id=id-1").status == 200);
    CHECK(BodyJson(f.Get("/v1/operator/raft/configuration"))["Servers"].empty());
  }
}

}  // namespace
}  // namespace cairn::http::testing
