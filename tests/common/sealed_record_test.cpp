#include <doctest/doctest.h>

#include "common/sealed_record.h"

namespace cairn {
namespace {

TEST_SUITE("common.sealed_record") {
  TEST_CASE("a sealed value unseals under its own key only") {
    const std::string sealed = SealRecord("e/1", "body");
    CHECK(sealed.size() == 4 + 4);
    auto body = UnsealRecord("e/1", sealed, "entry 1");
    REQUIRE(body.IsOk());
    CHECK(*body == "body");
    auto moved = UnsealRecord("e/2", sealed, "entry 2");
    CHECK(moved.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(moved.GetStatus().Message() == "entry 2 failed its checksum");
  }

  TEST_CASE("damage and truncation are caught") {
    const std::string sealed = SealRecord("k", "some value");
    for (size_t i = 0; i < sealed.size(); ++i) {
      std::string damaged = sealed;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
      CHECK_FALSE(UnsealRecord("k", damaged, "k").IsOk());
    }
    CHECK(UnsealRecord("k", "abc", "k").GetStatus().Message() == "k is shorter than its checksum");
    CHECK(UnsealRecord("k", SealRecord("k", ""), "k")->empty());
  }
}

}  // namespace
}  // namespace cairn
