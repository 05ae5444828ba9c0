// /v1/kv over a real HTTP client against a real store.
#include "tests/http/http_fixture.h"

namespace cairn::http::testing {
namespace {

TEST_SUITE("http.kv") {
  TEST_CASE("put then get returns Consul's JSON with a base64 value and the key's index") {
    ApiFixture f;
    auto put = f.Put("/v1/kv/app/config?flags=42", "hello");
    REQUIRE(put.status == 200);
    CHECK(put.body == "true");
    CHECK(f.backend.AsyncWrites() == 1);  // started on the server's loop, answered by a second run
    f.Put("/v1/kv/other", "x");           // a later write must not change app/config's index
    auto get = f.Get("/v1/kv/app/config");
    REQUIRE(get.status == 200);
    Json entry = BodyJson(get).at(0);
    CHECK(entry["Key"] == "app/config");
    CHECK(entry["Value"] == "aGVsbG8=");
    CHECK(entry["Flags"] == 42);
    CHECK(entry["LockIndex"] == 0);
    CHECK_FALSE(entry.contains("Session"));
    CHECK(IndexHeader(get) == entry["ModifyIndex"].get<uint64_t>());
    CHECK(IndexHeader(get) < f.backend.AppliedIndex());
    CHECK(get.get_header_value("X-Consul-KnownLeader") == "true");
    CHECK(get.get_header_value("X-Consul-LastContact") == "0");
    auto raw = f.Get("/v1/kv/app/config?raw");
    CHECK(raw.status == 200);
    CHECK(raw.body == "hello");
  }

  TEST_CASE("a missing key is 404 with the KV table index, deletes included") {
    ApiFixture f;
    f.Put("/v1/kv/gone", "v");
    CHECK(f.Delete("/v1/kv/gone").body == "true");
    const uint64_t delete_index = f.backend.AppliedIndex();
    auto get = f.Get("/v1/kv/gone");
    CHECK(get.status == 404);
    CHECK(IndexHeader(get) == delete_index);
    f.Put("/v1/kv/other", "");  // any KV write moves the table index a missing key reports
    CHECK(IndexHeader(f.Get("/v1/kv/gone")) == f.backend.AppliedIndex());
    CHECK(f.backend.AppliedIndex() > delete_index);
  }

  TEST_CASE("recurse, keys and separator list a prefix; an empty listing is 404") {
    ApiFixture f;
    for (const char* key : {"web/a", "web/b/1", "web/b/2", "webx"}) f.Put(std::string("/v1/kv/") + key, key);
    auto tree = BodyJson(f.Get("/v1/kv/web/?recurse"));
    REQUIRE(tree.size() == 3);
    CHECK(tree[0]["Key"] == "web/a");
    CHECK(tree[2]["Key"] == "web/b/2");
    CHECK(BodyJson(f.Get("/v1/kv/web/?keys")) == Json({"web/a", "web/b/1", "web/b/2"}));
    CHECK(BodyJson(f.Get("/v1/kv/web/?keys&separator=/")) == Json({"web/a", "web/b/"}));
    CHECK(BodyJson(f.Get("/v1/kv/?recurse")).size() == 4);
    auto empty = f.Get("/v1/kv/nothing/?recurse");
    CHECK(empty.status == 404);
    CHECK(IndexHeader(empty) >= 1);
    CHECK(f.Get("/v1/kv/nothing/?keys").status == 404);
  }

  TEST_CASE("cas writes only at the expected index; cas=0 only creates") {
    ApiFixture f;
    CHECK(f.Put("/v1/kv/c?cas=0", "one").body == "true");
    CHECK(f.Put("/v1/kv/c?cas=0", "two").body == "false");
    const uint64_t index = BodyJson(f.Get("/v1/kv/c"))[0]["ModifyIndex"];
    CHECK(f.Put("/v1/kv/c?cas=" + std::to_string(index + 100), "three").body == "false");
    CHECK(f.Get("/v1/kv/c?raw").body == "one");
    CHECK(f.Put("/v1/kv/c?cas=" + std::to_string(index), "four").body == "true");
    CHECK(f.Get("/v1/kv/c?raw").body == "four");
    const uint64_t now = BodyJson(f.Get("/v1/kv/c"))[0]["ModifyIndex"];
    CHECK(f.Delete("/v1/kv/c?cas=" + std::to_string(now - 1)).body == "false");
    CHECK(f.Get("/v1/kv/c").status == 200);
    CHECK(f.Delete("/v1/kv/c?cas=" + std::to_string(now)).body == "true");
    CHECK(f.Get("/v1/kv/c").status == 404);
  }

  TEST_CASE("delete with recurse removes the prefix and nothing else") {
    ApiFixture f;
    for (const char* key : {"d/1", "d/2", "dz"}) f.Put(std::string("/v1/kv/") + key, "v");
    CHECK(f.Delete("/v1/kv/d/?recurse").body == "true");
    CHECK(f.Get("/v1/kv/d/1").status == 404);
    CHECK(f.Get("/v1/kv/d/2").status == 404);
    CHECK(f.Get("/v1/kv/dz").status == 200);
  }

  TEST_CASE("acquire and release follow the session's lock") {
    ApiFixture f;
    const std::string s1 = BodyJson(f.Put("/v1/session/create", R"({"LockDelay":"0s"})"))["ID"];
    const std::string s2 = BodyJson(f.Put("/v1/session/create"))["ID"];
    CHECK(f.Put("/v1/kv/lock?acquire=" + s1, "me").body == "true");
    Json held = BodyJson(f.Get("/v1/kv/lock"))[0];
    CHECK(held["Session"] == s1);
    CHECK(held["LockIndex"] == 1);
    CHECK(f.Put("/v1/kv/lock?acquire=" + s2, "other").body == "false");
    CHECK(f.Put("/v1/kv/lock?release=" + s2, "x").body == "false");
    CHECK(f.Put("/v1/kv/lock?release=" + s1, "done").body == "true");
    CHECK_FALSE(BodyJson(f.Get("/v1/kv/lock"))[0].contains("Session"));
    auto invalid = f.Put("/v1/kv/lock?acquire=no-such-session", "x");
    CHECK(invalid.status == 500);
    CHECK(invalid.body.find("invalid session") != std::string::npos);
    CHECK(f.Put("/v1/kv/lock?acquire=" + s1 + "&release=" + s1, "x").status == 400);
  }

  TEST_CASE("bad keys, parameters and oversized values are refused and change nothing") {
    ApiFixture f;
    f.Put("/v1/kv/keep", "original");
    const size_t writes = f.backend.Writes();
    auto not_utf8 = f.Put("/v1/kv/%FF%FE", "v");
    CHECK(not_utf8.status == 400);
    CHECK(not_utf8.body.find("UTF-8") != std::string::npos);
    CHECK(f.Put("/v1/kv/", "v").status == 400);
    CHECK(f.Put("/v1/kv/", "v").body == "Missing key name");
    CHECK(f.Put("/v1/kv/keep?flags=abc", "v").status == 400);
    CHECK(f.Put("/v1/kv/keep?cas=-1", "v").status == 400);
    CHECK(f.Get("/v1/kv/keep?index=x").status == 400);
    CHECK(f.Get("/v1/kv/keep?wait=forever").status == 400);
    auto conflicting = f.Get("/v1/kv/keep?stale&consistent");
    CHECK(conflicting.status == 400);
    CHECK(conflicting.body.find("Cannot specify ?stale with ?consistent") != std::string::npos);
    auto big = f.Put("/v1/kv/keep", std::string(512 * 1024 + 1, 'x'));
    CHECK(big.status == 413);
    CHECK(big.body.find("524288") != std::string::npos);
    auto huge = f.Put("/v1/kv/keep", std::string(2 * 1024 * 1024, 'x'));  // past body_bytes_max
    CHECK(huge.status == 413);
    CHECK(f.Put("/v1/kv/keep", std::string(512 * 1024, 'y')).body == "true");  // exactly the limit
    CHECK(f.backend.Writes() == writes + 1);
  }

  TEST_CASE("without a leader writes and default reads fail with 500 No cluster leader; stale reads work") {
    ApiFixture f;
    f.Put("/v1/kv/k", "v");
    f.backend.SetLeaderKnown(false);
    auto put = f.Put("/v1/kv/k", "w");
    CHECK(put.status == 500);
    CHECK(put.body == "No cluster leader");
    CHECK(f.Get("/v1/kv/k").status == 500);
    CHECK(f.Get("/v1/kv/k?consistent").status == 500);
    auto stale = f.Get("/v1/kv/k?stale");
    CHECK(stale.status == 200);
    CHECK(stale.get_header_value("X-Consul-KnownLeader") == "false");
    f.backend.SetLeaderKnown(true);
    CHECK(f.Get("/v1/kv/k?raw").body == "v");
  }
}

}  // namespace
}  // namespace cairn::http::testing
