#include "common/status.h"

#include <doctest/doctest.h>

#include <memory>

namespace cairn {
namespace {

Result<int> ParsePositive(int x) {
  if (x <= 0) return Status::InvalidArgument("not positive: " + std::to_string(x));
  return x;
}

Result<int> Doubled(int x) {
  CAIRN_ASSIGN_OR_RETURN(int value, ParsePositive(x));
  return value * 2;
}

Status CheckBoth(int a, int b) {
  CAIRN_RETURN_IF_ERROR(ParsePositive(a).GetStatus());
  CAIRN_RETURN_IF_ERROR(ParsePositive(b).GetStatus());
  return OkStatus();
}

TEST_SUITE("common.status") {
  TEST_CASE("OK and error statuses report their code and message") {
    CHECK(OkStatus().IsOk());
    CHECK(OkStatus().ToString() == "OK");
    Status s = Status::Corruption("bad crc");
    CHECK_FALSE(s.IsOk());
    CHECK(s.Code() == StatusCode::kCorruption);
    CHECK(s.ToString() == "Corruption: bad crc");
    CHECK(s.WithContext("reading log").ToString() == "Corruption: reading log: bad crc");
    CHECK(OkStatus().WithContext("x").IsOk());
  }

  TEST_CASE("Result carries a value or an error through the macros") {
    CHECK(Doubled(4).Value() == 8);
    Result<int> bad = Doubled(-1);
    REQUIRE_FALSE(bad.IsOk());
    CHECK(bad.GetStatus().Message() == "not positive: -1");
    CHECK(bad.ValueOr(7) == 7);
    CHECK(CheckBoth(1, 2).IsOk());
    CHECK(CheckBoth(1, -2).Message() == "not positive: -2");
  }

  TEST_CASE("Result holds move-only values") {
    Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
    REQUIRE(r.IsOk());
    std::unique_ptr<int> taken = std::move(r).Value();
    CHECK(*taken == 5);
  }
}

}  // namespace
}  // namespace cairn
