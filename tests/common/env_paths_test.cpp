#include <doctest/doctest.h>

#include "common/env.h"

namespace cairn {
namespace {

TEST_SUITE("common.env_paths") {
  TEST_CASE("NetAddress parses dotted quads with ports and rejects the rest") {
    auto a = NetAddress::Parse("127.0.0.1:8300");
    REQUIRE(a.IsOk());
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 8300);
    CHECK(a->ToString() == "127.0.0.1:8300");
    CHECK(NetAddress::Parse("10.0.0.255:0").IsOk());
    for (const char* bad : {"127.0.0.1", "localhost:80", "127.0.0.1:65536", "127.0.0.256:1", "1.2.3:4", "1.2.3.4.5:6",
                            "1.2.3.4:", ":80", "1.2.3.4:-1", "1..3.4:5"}) {
      CAPTURE(bad);
      CHECK_FALSE(NetAddress::Parse(bad).IsOk());
    }
  }

  TEST_CASE("path helpers join and split") {
    CHECK(JoinPath("a/b", "c") == "a/b/c");
    CHECK(JoinPath("a/b/", "c") == "a/b/c");
    CHECK(ParentDir("a/b/c") == "a/b");
    CHECK(ParentDir("c") == ".");
    CHECK(ParentDir("/c") == "/");
  }
}

}  // namespace
}  // namespace cairn
