// /v1/txn: all-or-nothing KV and catalog operations, 409 on rollback, 413 past the op limit,
// read-only transactions through ReadTxn.
#include "tests/http/http_fixture.h"

namespace cairn::http::testing {
namespace {

Json Kv(const std::string& verb, const std::string& key, std::optional<std::string> value = {}, uint64_t index = 0) {
  Json op = {{"Verb", verb}, {"Key", key}};
  if (value) op["Value"] = *value;
  if (index) op["Index"] = index;
  return {{"KV", op}};
}

TEST_SUITE("http.txn") {
  TEST_CASE("writes commit together and report each entry") {
    ApiFixture f;
    auto res =
        f.PutJson("/v1/txn", Json::array({Kv("set", "t/a", "YQ=="), Kv("set", "t/b", "Yg=="), Kv("get", "t/a")}));
    REQUIRE(res.status == 200);
    Json body = BodyJson(res);
    CHECK(body["Errors"].is_null());
    REQUIRE(body["Results"].size() == 3);
    CHECK(body["Results"][0]["KV"]["Key"] == "t/a");
    CHECK(body["Results"][0]["KV"]["Value"].is_null());  // writes report no value, as Consul
    CHECK(body["Results"][2]["KV"]["Value"] == "YQ==");
    CHECK(f.Get("/v1/kv/t/b?raw").body == "b");
  }

  TEST_CASE("a failing op rolls everything back with 409 and every error's position") {
    ApiFixture f;
    f.Put("/v1/kv/t/a", "old");
    const uint64_t index = BodyJson(f.Get("/v1/kv/t/a"))[0]["ModifyIndex"];
    auto res = f.PutJson("/v1/txn", Json::array({Kv("set", "t/new", "bmV3"), Kv("cas", "t/a", "eA==", index + 7),
                                                 Kv("check-not-exists", "t/a")}));
    CHECK(res.status == 409);
    Json body = BodyJson(res);
    CHECK(body["Results"].is_null());
    REQUIRE(body["Errors"].size() == 2);
    CHECK(body["Errors"][0]["OpIndex"] == 1);
    CHECK(body["Errors"][1]["OpIndex"] == 2);
    CHECK_FALSE(body["Errors"][0]["What"].get<std::string>().empty());
    CHECK(f.Get("/v1/kv/t/new").status == 404);
    CHECK(f.Get("/v1/kv/t/a?raw").body == "old");
  }

  TEST_CASE("more operations than the limit is 413 and changes nothing") {
    ApiFixture f;
    Json ops = Json::array();
    for (int i = 0; i < 129; ++i) ops.push_back(Kv("set", "many/" + std::to_string(i), "eA=="));
    const size_t writes = f.backend.Writes();
    auto res = f.PutJson("/v1/txn", ops);
    CHECK(res.status == 413);
    CHECK(res.body.find("too many operations (129 > 128)") != std::string::npos);
    CHECK(f.backend.Writes() == writes);
    ops.erase(ops.end() - 1);
    CHECK(f.PutJson("/v1/txn", ops).status == 200);
  }

  TEST_CASE("a read-only transaction is served without a write") {
    ApiFixture f;
    for (const char* key : {"r", "r/1", "r/2"}) f.Put(std::string("/v1/kv/") + key, key);
    const size_t writes = f.backend.Writes();
    auto res = f.PutJson("/v1/txn", Json::array({Kv("get-tree", "r/"), Kv("get-or-empty", "r"),
                                                 Kv("get-or-empty", "missing"), Kv("check-not-exists", "missing")}));
    REQUIRE(res.status == 200);
    CHECK(f.backend.Writes() == writes);
    CHECK(IndexHeader(res) == f.backend.AppliedIndex());
    Json results = BodyJson(res)["Results"];
    REQUIRE(results.size() == 3);  // r/1, r/2 from get-tree; r itself (not its children) from get-or-empty
    CHECK(results[0]["KV"]["Key"] == "r/1");
    CHECK(results[1]["KV"]["Key"] == "r/2");
    CHECK(results[2]["KV"]["Key"] == "r");
    CHECK(results[2]["KV"]["Value"] == "cg==");
    auto failed = f.PutJson("/v1/txn", Json::array({Kv("get", "missing")}));
    CHECK(failed.status == 409);
    CHECK(f.backend.Writes() == writes);
  }

  TEST_CASE("get-or-empty in a write transaction keeps only the key itself") {
    ApiFixture f;
    for (const char* key : {"g", "g/child"}) f.Put(std::string("/v1/kv/") + key, "v");
    auto res = f.PutJson("/v1/txn",
                         Json::array({Kv("get-or-empty", "g"), Kv("set", "g/child2", "dg=="), Kv("get-tree", "g/")}));
    REQUIRE(res.status == 200);
    Json results = BodyJson(res)["Results"];
    REQUIRE(results.size() == 4);
    CHECK(results[0]["KV"]["Key"] == "g");
    CHECK(results[1]["KV"]["Key"] == "g/child2");
    CHECK(results[2]["KV"]["Key"] == "g/child");
    CHECK(results[3]["KV"]["Key"] == "g/child2");
  }

  TEST_CASE("delete verbs, locks and session checks") {
    ApiFixture f;
    const std::string session = BodyJson(f.Put("/v1/session/create"))["ID"];
    for (const char* key : {"x/1", "x/2", "y"}) f.Put(std::string("/v1/kv/") + key, "v");
    const uint64_t y_index = BodyJson(f.Get("/v1/kv/y"))[0]["ModifyIndex"];
    Json lock = {{"KV", {{"Verb", "lock"}, {"Key", "l"}, {"Value", "bQ=="}, {"Session", session}}}};
    Json check = {{"KV", {{"Verb", "check-session"}, {"Key", "l"}, {"Session", session}}}};
    auto res =
        f.PutJson("/v1/txn", Json::array({Kv("delete-tree", "x/"), Kv("delete-cas", "y", std::nullopt, y_index), lock,
                                          check, Kv("check-index", "l", std::nullopt, f.backend.AppliedIndex() + 1)}));
    CHECK_MESSAGE(res.status == 200, res.body);
    CHECK(f.Get("/v1/kv/x/?recurse").status == 404);
    CHECK(f.Get("/v1/kv/y").status == 404);
    CHECK(BodyJson(f.Get("/v1/kv/l"))[0]["Session"] == session);
    Json unlock = {{"KV", {{"Verb", "unlock"}, {"Key", "l"}, {"Session", session}}}};
    CHECK(f.PutJson("/v1/txn", Json::array({unlock, Kv("delete", "l")})).status == 200);
    CHECK(f.Get("/v1/kv/l").status == 404);
  }

  TEST_CASE("node, service and check operations") {
    ApiFixture f;
    Json ops = Json::array({
        {{"Node", {{"Verb", "set"}, {"Node", {{"Node", "tn"}, {"Address", "10.1.1.1"}}}}}},
        {{"Service",
          {{"Verb", "set"}, {"Node", "tn"}, {"Service", {{"ID", "api/1"}, {"Service", "api"}, {"Port", 9000}}}}}},
        {{"Check",
          {{"Verb", "set"},
           {"Check", {{"Node", "tn"}, {"CheckID", "c1"}, {"Status", "passing"}, {"ServiceID", "api/1"}}}}}},
    });
    auto res = f.PutJson("/v1/txn", ops);
    REQUIRE_MESSAGE(res.status == 200, res.body);
    Json results = BodyJson(res)["Results"];
    REQUIRE(results.size() == 3);
    CHECK(results[0]["Node"]["Node"] == "tn");
    CHECK(results[1]["Service"]["ID"] == "api/1");
    CHECK(results[2]["Check"]["Status"] == "passing");
    CHECK(BodyJson(f.Get("/v1/catalog/service/api"))[0]["ServicePort"] == 9000);
    auto get = f.PutJson("/v1/txn", Json::array({{{"Node", {{"Verb", "get"}, {"Node", {{"Node", "tn"}}}}}}}));
    CHECK(BodyJson(get)["Results"][0]["Node"]["Address"] == "10.1.1.1");
    CHECK(f.PutJson("/v1/txn", Json::array({{{"Node", {{"Verb", "delete"}, {"Node", {{"Node", "tn"}}}}}}})).status ==
          200);
    CHECK(BodyJson(f.Get("/v1/catalog/service/api")).empty());
  }

  TEST_CASE("malformed transactions are 400 and change nothing") {
    ApiFixture f;
    const size_t writes = f.backend.Writes();
    CHECK(f.Put("/v1/txn", "[{").status == 400);
    CHECK(f.Put("/v1/txn", R"({"KV":{}})").status == 400);
    CHECK(f.PutJson("/v1/txn", Json::array({Kv("explode", "k")})).status == 400);
    CHECK(f.PutJson("/v1/txn", Json::array({Kv("set", "k", "not base64!")})).status == 400);
    CHECK(f.PutJson("/v1/txn",
                    Json::array({Kv("set", "k", "eA=="), {{"KV", {{"Verb", "set"}, {"Key", "k"}, {"Bogus", 1}}}}}))
              .status == 400);
    CHECK(f.PutJson("/v1/txn", Json::array({{{"KV", {{"Verb", "set"}, {"Key", "k"}, {"Flags", "1"}}}}})).status == 400);
    CHECK(f.PutJson("/v1/txn", Json::array({{{"Node", {{"Verb", "cas"}, {"Node", {{"Node", "n"}}}}}}})).status == 400);
    auto big = f.PutJson("/v1/txn", Json::array({Kv("set", "k", std::string(700'000, 'A'))}));
    CHECK(big.status == 413);
    CHECK(f.backend.Writes() == writes);
    CHECK(f.Get("/v1/kv/k").status == 404);
  }

  TEST_CASE("snake_case and lower-case keys are accepted") {
    ApiFixture f;
    auto res =
        f.PutJson("/v1/txn", Json::array({{{"kv", {{"verb", "set"}, {"key", "s"}, {"value", "cw=="}, {"flags", 3}}}}}));
    REQUIRE_MESSAGE(res.status == 200, res.body);
    CHECK(BodyJson(f.Get("/v1/kv/s"))[0]["Flags"] == 3);
  }
}

}  // namespace
}  // namespace cairn::http::testing
