// Base64 (common/base64.h), shared by the HTTP API's JSON and the CLI.
#include "common/base64.h"

#include <doctest/doctest.h>

#include <string>
#include <utility>

namespace cairn {
namespace {

TEST_SUITE("common.base64") {
  TEST_CASE("base64 matches RFC 4648's vectors, round-trips every byte and refuses malformed input") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (auto [plain, encoded] : vectors) {
      CHECK(Base64Encode(plain) == encoded);
      auto decoded = Base64Decode(encoded);
      REQUIRE(decoded.IsOk());
      CHECK(*decoded == plain);
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (size_t cut = 0; cut < 4; ++cut) {
      std::string bytes = all.substr(cut);
      CHECK(Base64Decode(Base64Encode(bytes)).Value() == bytes);
    }
    const std::string binary("\x00\xFF\x10\x80", 4);
    CHECK(*Base64Decode(Base64Encode(binary)) == binary);
    for (const char* bad : {"Zg=", "Zg=a", "Z===", "Zm9v!A==", "=Zm9"}) CHECK_MESSAGE(!Base64Decode(bad).IsOk(), bad);
  }
}

}  // namespace
}  // namespace cairn
