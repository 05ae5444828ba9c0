// Durations, base64 and UTF-8 as the API reads and writes them.
#include <doctest/doctest.h>

#include "http/http_util.h"

namespace cairn::http {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

nanoseconds Parsed(std::string_view text) {
  auto result = ParseDuration(text);
  REQUIRE_MESSAGE(result.IsOk(), text << ": " << result.GetStatus().ToString());
  return *result;
}

TEST_SUITE("http.encoding") {
  TEST_CASE("Go durations parse to the exact number of nanoseconds") {
    CHECK(Parsed("15s") == std::chrono::seconds(15));
    CHECK(Parsed("0.001s") == milliseconds(1));
    CHECK(Parsed("7.5s") == milliseconds(7500));
    CHECK(Parsed("1m30s") == std::chrono::seconds(90));
    CHECK(Parsed("10ms") == milliseconds(10));
    CHECK(Parsed("2h") == std::chrono::hours(2));
    CHECK(Parsed("1h2m3.5s") == milliseconds(3723500));
    CHECK(Parsed("250us") == std::chrono::microseconds(250));
    CHECK(Parsed("3\xC2\xB5s") == std::chrono::microseconds(3));
  }

  TEST_CASE("malformed durations are refused") {
    for (const char* bad : {"", "10", "s", "1x", "-1s", "+1s", "1.2.3s", ".s", "1s2", "abc"}) {
      CHECK_MESSAGE(!ParseDuration(bad).IsOk(), bad);
    }
  }

  TEST_CASE("durations format as Go prints them") {
    CHECK(FormatDuration(std::chrono::seconds(15)) == "15s");
    CHECK(FormatDuration(std::chrono::seconds(90)) == "1m30s");
    CHECK(FormatDuration(std::chrono::hours(24)) == "24h0m0s");
    CHECK(FormatDuration(milliseconds(10)) == "10ms");
    CHECK(FormatDuration(milliseconds(1500)) == "1.5s");
    CHECK(FormatDuration(nanoseconds(0)) == "0s");
    CHECK(FormatDuration(nanoseconds(42)) == "42ns");
  }

  TEST_CASE("UTF-8 validation refuses broken, overlong and surrogate sequences") {
    CHECK(IsValidUtf8("plain/ascii"));
    CHECK(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    CHECK_FALSE(IsValidUtf8("\xFF"));
    CHECK_FALSE(IsValidUtf8("\xC3"));          // truncated
    CHECK_FALSE(IsValidUtf8("\xC0\xAF"));      // overlong '/'
    CHECK_FALSE(IsValidUtf8("\xED\xA0\x80"));  // surrogate
  }
}

}  // namespace
}  // namespace cairn::http
