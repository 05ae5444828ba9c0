// bench.kv_http: the KV benchmark's HTTP/1.1 response parser, which decides whether a response
// counts as a success, on the shapes the two servers under test send.
#include "tests/bench/kv_bench_http.h"

#include <doctest/doctest.h>

#include <vector>

namespace cairn::bench {
namespace {

TEST_SUITE("bench.kv_http") {
  TEST_CASE("responses split at every byte come out whole and in order") {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrue"
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";
    HttpResponseParser parser;
    std::vector<HttpResponse> got;
    for (char byte : wire) {
      parser.Feed(std::string_view(&byte, 1));
      while (true) {
        auto next = parser.Next();
        REQUIRE(next.IsOk());
        if (!next->has_value()) break;
        got.push_back(std::move(**next));
      }
    }
    REQUIRE(got.size() == 3);
    CHECK(got[0].status == 200);
    CHECK(got[0].body == "true");
    CHECK_FALSE(got[0].close);
    CHECK(got[1].body == "abcde");
    CHECK(got[2].status == 500);
    CHECK(got[2].body == "no");
    CHECK(got[2].close);
  }

  TEST_CASE("X-Consul-Index is read in any case; absent or not a number leaves it empty") {
    HttpResponseParser parser;
    parser.Feed(
        "HTTP/1.1 200 OK\r\nx-consul-index: 1234\r\nContent-Length: 2\r\n\r\n[]"
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        "HTTP/1.1 200 OK\r\nX-Consul-Index: 12x\r\nContent-Length: 0\r\n\r\n");
    auto first = parser.Next();
    REQUIRE(first.IsOk());
    REQUIRE(first->has_value());
    CHECK((*first)->consul_index == std::optional<uint64_t>(1234));
    CHECK((*first)->body == "[]");
    for (int i = 0; i < 2; ++i) {
      auto next = parser.Next();
      REQUIRE(next.IsOk());
      REQUIRE(next->has_value());
      CHECK_FALSE((*next)->consul_index.has_value());
    }
  }

  TEST_CASE("bytes that are not an HTTP response are an error") {
    HttpResponseParser parser;
    parser.Feed("garbage\r\n\r\n");
    CHECK_FALSE(parser.Next().IsOk());
  }

  TEST_CASE("a request carries Host, and Content-Length whenever it has a body or is not a GET") {
    CHECK(HttpRequest("GET", "/v1/kv/a?stale", "h:1", "", "") == "GET /v1/kv/a?stale HTTP/1.1\r\nHost: h:1\r\n\r\n");
    CHECK(HttpRequest("POST", "/v3/kv/put", "h:1", "application/json", "{}") ==
          "POST /v3/kv/put HTTP/1.1\r\nHost: h:1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  }
}

}  // namespace
}  // namespace cairn::bench
