// Blocking queries: ?index&wait wake on a change to what was read, not on unrelated changes,
// and return at the wait time with the same index.
#include <future>

#include "tests/http/http_fixture.h"

namespace cairn::http::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Timed {
  httplib::Response response;
  milliseconds elapsed;
};

// Issues `path` on its own connection in the background.
std::future<Timed> Background(ApiFixture& f, const std::string& path) {
  return std::async(std::launch::async, [&f, path] {
    auto client = f.NewClient();
    const auto start = Clock::now();
    auto result = client->Get(path.c_str());
    REQUIRE(result);
    return Timed{*result, std::chrono::duration_cast<milliseconds>(Clock::now() - start)};
  });
}

TEST_SUITE("http.blocking") {
  TEST_CASE("a blocking key read wakes on a write to that key") {
    ApiFixture f;
    f.Put("/v1/kv/watched", "v1");
    const uint64_t index = IndexHeader(f.Get("/v1/kv/watched"));
    auto pending = Background(f, "/v1/kv/watched?index=" + std::to_string(index) + "&wait=20s");
    std::this_thread::sleep_for(milliseconds(300));
    f.Put("/v1/kv/watched", "v2");
    Timed done = pending.get();
    CHECK(done.response.status == 200);
    CHECK(done.elapsed < milliseconds(10'000));
    CHECK(IndexHeader(done.response) > index);
    CHECK(BodyJson(done.response)[0]["Value"] == "djI=");
    CHECK(f.backend.QueryWakeups() == 1);
  }

  TEST_CASE("an unrelated write does not wake a blocking read; the wait ends it with the same index") {
    ApiFixture f;
    f.Put("/v1/kv/watched", "v1");
    const uint64_t index = IndexHeader(f.Get("/v1/kv/watched"));
    auto pending = Background(f, "/v1/kv/watched?index=" + std::to_string(index) + "&wait=1s");
    std::this_thread::sleep_for(milliseconds(200));
    f.Put("/v1/kv/watched-not", "x");  // shares a prefix, is a different key
    f.Put("/v1/kv/elsewhere", "x");
    Timed done = pending.get();
    CHECK(done.response.status == 200);
    CHECK(done.elapsed >= milliseconds(1000));
    CHECK(done.elapsed < milliseconds(1000 + 1000 / 16 + 2000));
    CHECK(IndexHeader(done.response) == index);
    CHECK(f.backend.QueryWakeups() == 0);
  }

  TEST_CASE("a blocking prefix read wakes on a key under the prefix only") {
    ApiFixture f;
    f.Put("/v1/kv/svc/a", "1");
    const uint64_t index = IndexHeader(f.Get("/v1/kv/svc/?recurse"));
    auto pending = Background(f, "/v1/kv/svc/?recurse&index=" + std::to_string(index) + "&wait=20s");
    std::this_thread::sleep_for(milliseconds(200));
    f.Put("/v1/kv/other/b", "x");
    std::this_thread::sleep_for(milliseconds(200));
    CHECK(f.backend.QueryWakeups() == 0);
    f.Put("/v1/kv/svc/b", "2");
    Timed done = pending.get();
    CHECK(BodyJson(done.response).size() == 2);
    CHECK(IndexHeader(done.response) > index);
  }

  TEST_CASE("a blocked missing key wakes when it is created and reports its index") {
    ApiFixture f;
    auto missing = f.Get("/v1/kv/later");
    REQUIRE(missing.status == 404);
    auto pending = Background(f, "/v1/kv/later?index=" + std::to_string(IndexHeader(missing)) + "&wait=20s");
    std::this_thread::sleep_for(milliseconds(200));
    f.Put("/v1/kv/later", "now");
    Timed done = pending.get();
    CHECK(done.response.status == 200);
    CHECK(IndexHeader(done.response) == f.backend.AppliedIndex());
  }

  TEST_CASE("a blocking health query wakes on its service's check, not on another service's") {
    ApiFixture f;
    for (const char* service : {"web", "db"}) {
      Json registration = {
          {"Node", "n1"},
          {"Address", "10.0.0.1"},
          {"Service", {{"Service", service}}},
          {"Check", {{"CheckID", std::string(service) + "-check"}, {"ServiceID", service}, {"Status", "passing"}}}};
      REQUIRE(f.PutJson("/v1/catalog/register", registration).body == "true");
    }
    const uint64_t index = IndexHeader(f.Get("/v1/health/service/web"));
    auto pending = Background(f, "/v1/health/service/web?passing&index=" + std::to_string(index) + "&wait=20s");
    std::this_thread::sleep_for(milliseconds(200));
    f.PutJson("/v1/catalog/register",
              {{"Node", "n1"},
               {"Address", "10.0.0.1"},
               {"Check", {{"CheckID", "db-check"}, {"ServiceID", "db"}, {"Status", "critical"}}}});
    std::this_thread::sleep_for(milliseconds(200));
    CHECK(f.backend.QueryWakeups() == 0);
    f.PutJson("/v1/catalog/register",
              {{"Node", "n1"},
               {"Address", "10.0.0.1"},
               {"Check", {{"CheckID", "web-check"}, {"ServiceID", "web"}, {"Status", "critical"}}}});
    Timed done = pending.get();
    CHECK(done.response.status == 200);
    CHECK(BodyJson(done.response).empty());  // ?passing now filters the only instance out
    CHECK(IndexHeader(done.response) > index);
  }

  TEST_CASE("wait is capped at the configured maximum, plus at most a sixteenth of jitter") {
    ApiOptions options = TestOptions();
    options.blocking.max_wait = milliseconds(400);
    ApiFixture f(options);
    f.Put("/v1/kv/k", "v");
    const uint64_t index = IndexHeader(f.Get("/v1/kv/k"));
    const auto start = Clock::now();
    auto res = f.Get("/v1/kv/k?index=" + std::to_string(index) + "&wait=10m");
    const auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    CHECK(res.status == 200);
    CHECK(elapsed >= milliseconds(400));
    CHECK(elapsed < milliseconds(400 + 25 + 2000));
    CHECK(IndexHeader(res) == index);
  }

  TEST_CASE("an index of 0 or behind the current one answers at once") {
    ApiFixture f;
    f.Put("/v1/kv/k", "v");
    const auto start = Clock::now();
    CHECK(f.Get("/v1/kv/k?index=0&wait=5s").status == 200);
    CHECK(f.Get("/v1/kv/k?index=1&wait=5s").status == 200);
    CHECK(Clock::now() - start < std::chrono::seconds(3));
  }
}

}  // namespace
}  // namespace cairn::http::testing
