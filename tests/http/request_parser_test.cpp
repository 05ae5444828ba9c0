// The HTTP/1.1 request parser and response writer (http/request_parser.h), on byte strings.
#include "http/request_parser.h"

#include <doctest/doctest.h>

#include <string>

using cairn::http::DecodeUrlComponent;
using cairn::http::ParseOutcome;
using cairn::http::ParseRequest;
using cairn::http::ParserLimits;
using cairn::http::Response;
using cairn::http::SerializeResponse;
using Kind = ParseOutcome::Kind;

namespace {

ParseOutcome Parse(const std::string& bytes, ParserLimits limits = {}) { return ParseRequest(bytes, limits); }

}  // namespace

TEST_SUITE("http.request_parser") {
  TEST_CASE("a GET with a query: decoded path, parameters, keep-alive by default in HTTP/1.1") {
    const std::string bytes =
        "GET /v1/kv/a%2Fb%20c?recurse&index=12&dc=d+c1&x=%41 HTTP/1.1\r\nHost: h\r\nX-Consul-Token: t\r\n\r\n";
    ParseOutcome out = Parse(bytes);
    REQUIRE(out.kind == Kind::kRequest);
    CHECK(out.consumed == bytes.size());
    CHECK(out.request.method == "GET");
    CHECK(out.request.path == "/v1/kv/a/b c");
    CHECK(out.request.HasParam("recurse"));
    CHECK(out.request.ParamValue("recurse").empty());
    CHECK(out.request.ParamValue("index") == "12");
    CHECK(out.request.ParamValue("dc") == "d c1");
    CHECK(out.request.ParamValue("x") == "A");
    CHECK(out.request.HeaderValue("x-consul-token") == "t");  // header names ignore case
    CHECK(out.keep_alive);
  }

  TEST_CASE("every prefix of a request is incomplete, and the whole one is a request") {
    const std::string bytes = "PUT /v1/kv/k?flags=3 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    for (size_t n = 0; n < bytes.size(); ++n) {
      INFO("prefix of " << n << " bytes");
      CHECK(Parse(bytes.substr(0, n)).kind == Kind::kIncomplete);
    }
    ParseOutcome out = Parse(bytes + "GET / HTTP/1.1\r\n");
    REQUIRE(out.kind == Kind::kRequest);
    CHECK(out.request.body == "hello");
    CHECK(out.consumed == bytes.size());  // the pipelined next request stays in the buffer
  }

  TEST_CASE("a chunked body is decoded, with extensions and trailers") {
    const std::string bytes =
        "PUT /v1/txn HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: "
        "1\r\n\r\n";
    for (size_t n = 0; n < bytes.size(); ++n) CHECK(Parse(bytes.substr(0, n)).kind == Kind::kIncomplete);
    ParseOutcome out = Parse(bytes);
    REQUIRE(out.kind == Kind::kRequest);
    CHECK(out.request.body == "hello world");
    CHECK(out.consumed == bytes.size());
  }

  TEST_CASE("a body without Content-Length is empty; Expect: 100-continue is reported while waiting") {
    ParseOutcome bodiless = Parse("PUT /v1/agent/leave HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(bodiless.kind == Kind::kRequest);
    CHECK(bodiless.request.body.empty());
    ParseOutcome waiting = Parse("PUT /v1/kv/k HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    CHECK(waiting.kind == Kind::kIncomplete);
    CHECK(waiting.expects_continue);
  }

  TEST_CASE("connection persistence follows the version and the Connection header") {
    CHECK_FALSE(Parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    CHECK_FALSE(Parse("GET / HTTP/1.0\r\n\r\n").keep_alive);
    CHECK(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  }

  TEST_CASE("bad requests are refused with the status that names the problem") {
    ParserLimits limits;
    limits.header_bytes_max = 128;
    limits.body_bytes_max = 10;
    struct Case {
      std::string bytes;
      int status;
    };
    const Case cases[] = {
        {"GET\r\n\r\n", 400},
        {"GET /x HTTP/2.0\r\n\r\n", 505},
        {"GET /x FTP/1.0\r\n\r\n", 400},
        {"GET x HTTP/1.1\r\n\r\n", 400},
        {"G(T /x HTTP/1.1\r\n\r\n", 400},
        {"GET /x HTTP/1.1\r\nno colon\r\n\r\n", 400},
        {"GET /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
        {"PUT /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 413},
        {"PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        {"PUT /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"PUT /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
        {"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
        {"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n", 413},
        {"GET /x HTTP/1.1\r\nA: " + std::string(200, 'a') + "\r\n\r\n", 431},
        {"GET /" + std::string(200, 'a'), 414},
    };
    for (const Case& c : cases) {
      INFO(c.bytes);
      ParseOutcome out = Parse(c.bytes, limits);
      CHECK(out.kind == Kind::kError);
      CHECK(out.error_status == c.status);
      CHECK_FALSE(out.error_message.empty());
    }
  }

  TEST_CASE("URL decoding keeps malformed escapes and turns + into a space only in queries") {
    CHECK(DecodeUrlComponent("a%2fb%zz%4", false) == "a/b%zz%4");
    CHECK(DecodeUrlComponent("a+b", false) == "a+b");
    CHECK(DecodeUrlComponent("a+b", true) == "a b");
  }

  TEST_CASE("a response carries its length and the connection decision; HEAD drops the body") {
    Response res;
    res.status = 404;
    res.SetHeader("X-Consul-Index", "7");
    res.SetHeader("Content-Length", "999");  // ignored: the writer computes it
    res.body = "nope";
    CHECK(SerializeResponse(res, true, false) ==
          "HTTP/1.1 404 Not Found\r\nX-Consul-Index: 7\r\nContent-Length: 4\r\nConnection: keep-alive\r\n\r\nnope");
    CHECK(SerializeResponse(res, false, true) ==
          "HTTP/1.1 404 Not Found\r\nX-Consul-Index: 7\r\nContent-Length: 4\r\nConnection: close\r\n\r\n");
  }
}
