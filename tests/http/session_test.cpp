// /v1/session/*: defaults, TTL and lock-delay parsing, destroy, info, node, list, renew.
#include "tests/http/http_fixture.h"

namespace cairn::http::testing {
namespace {

Json Info(ApiFixture& f, const std::string& id) {
  auto res = f.Get("/v1/session/info/" + id);
  REQUIRE(res.status == 200);
  return BodyJson(res);
}

TEST_SUITE("http.session") {
  TEST_CASE("an empty create gets Consul's defaults on the agent's node") {
    ApiFixture f;
    auto res = f.Put("/v1/session/create");
    REQUIRE_MESSAGE(res.status == 200, res.body);
    const std::string id = BodyJson(res)["ID"];
    CHECK(id.size() == 36);
    Json session = Info(f, id).at(0);
    CHECK(session["Node"] == "node1");
    CHECK(session["LockDelay"] == 15'000'000'000LL);
    CHECK(session["Behavior"] == "release");
    CHECK(session["TTL"] == "");
    CHECK(session["Checks"] == Json::array());  // no serfHealth check on node1
  }

  TEST_CASE("serfHealth is the default check when the node has it") {
    ApiFixture f;
    Json registration = {
        {"Node", "node1"}, {"Address", "127.0.0.1"}, {"Check", {{"CheckID", "serfHealth"}, {"Status", "passing"}}}};
    REQUIRE(f.PutJson("/v1/catalog/register", registration).body == "true");
    const std::string id = BodyJson(f.Put("/v1/session/create"))["ID"];
    CHECK(Info(f, id)[0]["Checks"] == Json({"serfHealth"}));
    // Naming the checks replaces the default, even with none.
    const std::string bare = BodyJson(f.PutJson("/v1/session/create", {{"Checks", Json::array()}}))["ID"];
    CHECK(Info(f, bare)[0]["Checks"] == Json::array());
  }

  TEST_CASE("durations, behavior and snake_case keys") {
    ApiFixture f;
    auto res = f.Put("/v1/session/create", R"({"name":"x","lock_delay":"7.5s","behavior":"delete","ttl":"1m30s"})");
    REQUIRE_MESSAGE(res.status == 200, res.body);
    Json session = Info(f, BodyJson(res)["ID"])[0];
    CHECK(session["Name"] == "x");
    CHECK(session["LockDelay"] == 7'500'000'000LL);
    CHECK(session["Behavior"] == "delete");
    CHECK(session["TTL"] == "1m30s");
    // A bare small number is seconds, as Consul reads it; a large one nanoseconds.
    Json seconds = Info(f, BodyJson(f.Put("/v1/session/create", R"({"LockDelay":5})"))["ID"])[0];
    CHECK(seconds["LockDelay"] == 5'000'000'000LL);
    Json nanos = Info(f, BodyJson(f.Put("/v1/session/create", R"({"LockDelay":2000000000})"))["ID"])[0];
    CHECK(nanos["LockDelay"] == 2'000'000'000LL);
    Json tiny = Info(f, BodyJson(f.Put("/v1/session/create", R"({"LockDelay":"10ms","TTL":"10s"})"))["ID"])[0];
    CHECK(tiny["LockDelay"] == 10'000'000LL);
    CHECK(tiny["TTL"] == "10s");
  }

  TEST_CASE("TTLs outside 10s..24h and other bad input are 400 and create nothing") {
    ApiFixture f;
    const size_t writes = f.backend.Writes();
    for (const char* ttl : {"5s", "25h", "9.999s", "soon"}) {
      auto res = f.PutJson("/v1/session/create", {{"TTL", ttl}});
      CHECK(res.status == 400);
      CHECK_MESSAGE(res.body.find("Invalid Session TTL '" + std::string(ttl) + "'") == 0, res.body);
    }
    CHECK(f.PutJson("/v1/session/create", {{"TTL", "24h"}}).status == 200);
    CHECK(f.PutJson("/v1/session/create", {{"Behavior", "explode"}}).status == 400);
    CHECK(f.PutJson("/v1/session/create", {{"Name", 7}}).status == 400);
    CHECK(f.PutJson("/v1/session/create", {{"Surprise", true}}).status == 400);
    CHECK(f.Put("/v1/session/create", "{not json").status == 400);
    CHECK(f.backend.Writes() == writes + 1);
    CHECK(BodyJson(f.Get("/v1/session/list")).size() == 1);
  }

  TEST_CASE("a session on an unknown node or check fails without being created") {
    ApiFixture f;
    CHECK(f.PutJson("/v1/session/create", {{"Node", "ghost"}}).status == 500);
    CHECK(f.PutJson("/v1/session/create", {{"Checks", {"nope"}}}).status == 500);
    CHECK(BodyJson(f.Get("/v1/session/list")).empty());
  }

  TEST_CASE("destroy, node, list and renew") {
    ApiFixture f;
    f.PutJson("/v1/catalog/register", {{"Node", "other"}, {"Address", "10.0.0.9"}});
    const std::string a = BodyJson(f.Put("/v1/session/create"))["ID"];
    const std::string b = BodyJson(f.PutJson("/v1/session/create", {{"Node", "other"}, {"TTL", "15s"}}))["ID"];
    CHECK(BodyJson(f.Get("/v1/session/list")).size() == 2);
    auto on_other = f.Get("/v1/session/node/other");
    CHECK(BodyJson(on_other).size() == 1);
    CHECK(BodyJson(on_other)[0]["ID"] == b);
    CHECK(IndexHeader(on_other) == f.backend.AppliedIndex());
    auto renew = f.Put("/v1/session/renew/" + b);
    REQUIRE(renew.status == 200);
    CHECK(BodyJson(renew)[0]["TTL"] == "15s");
    auto unknown = f.Put("/v1/session/renew/00000000-0000-0000-0000-000000000000");
    CHECK(unknown.status == 404);
    CHECK(f.Put("/v1/session/destroy/" + a).body == "true");
    CHECK(Info(f, a).empty());
    CHECK(f.Put("/v1/session/destroy/" + a).body == "true");  // already gone: still true
    CHECK(f.Put("/v1/session/renew/" + a).status == 404);
    CHECK(BodyJson(f.Get("/v1/session/list")).size() == 1);
  }

  TEST_CASE("destroying a lock holder releases its keys") {
    ApiFixture f;
    const std::string id = BodyJson(f.Put("/v1/session/create", R"({"LockDelay":"0s"})"))["ID"];
    REQUIRE(f.Put("/v1/kv/leader?acquire=" + id, "me").body == "true");
    REQUIRE(f.Put("/v1/session/destroy/" + id).body == "true");
    Json entry = BodyJson(f.Get("/v1/kv/leader"))[0];
    CHECK_FALSE(entry.contains("Session"));
    CHECK(entry["Value"] == "bWU=");
  }
}

}  // namespace
}  // namespace cairn::http::testing
