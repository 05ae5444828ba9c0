#include "common/random.h"

#include <doctest/doctest.h>

#include <array>
#include <vector>

namespace cairn {
namespace {

TEST_SUITE("common.random") {
  TEST_CASE("SplitMix64 matches the reference output for seed 0") {
    // Reference values from the published splitmix64.c (seed 0, first three outputs).
    uint64_t state = 0;
    CHECK(SplitMix64(state) == 0xe220a8397b1dcdafULL);
    CHECK(SplitMix64(state) == 0x6e789e6aa1b965f4ULL);
    CHECK(SplitMix64(state) == 0x06c45d188009454fULL);
  }

  TEST_CASE("the sequence for a seed is fixed forever") {
    // Pinned outputs: if these change, every recorded simulation seed stops replaying.
    Prng prng(42);
    std::array<uint64_t, 3> got{prng.Next64(), prng.Next64(), prng.Next64()};
    Prng again(42);
    for (uint64_t value : got) CHECK(again.Next64() == value);
    Prng other(43);
    CHECK(other.Next64() != got[0]);
    // xoshiro256** seeded from SplitMix64(42), cross-checked against an independent
    // implementation of the published algorithm.
    CHECK(got[0] == 0x15780b2e0c2ec716ULL);
    CHECK(got[1] == 0x6104d9866d113a7eULL);
    CHECK(got[2] == 0xae17533239e499a1ULL);
  }

  TEST_CASE("Below stays in range and covers it evenly") {
    Prng prng(7);
    std::array<int, 6> counts{};
    for (int i = 0; i < 60000; ++i) {
      uint64_t v = prng.Below(6);
      REQUIRE(v < 6);
      counts[v]++;
    }
    for (int c : counts) {
      CHECK(c > 9500);
      CHECK(c < 10500);
    }
    CHECK(prng.Below(1) == 0);
  }

  TEST_CASE("Between is inclusive and handles the full range") {
    Prng prng(9);
    bool saw_low = false, saw_high = false;
    for (int i = 0; i < 1000; ++i) {
      int64_t v = prng.Between(-2, 2);
      REQUIRE(v >= -2);
      REQUIRE(v <= 2);
      saw_low |= v == -2;
      saw_high |= v == 2;
    }
    CHECK(saw_low);
    CHECK(saw_high);
    (void)prng.Between(INT64_MIN, INT64_MAX);
  }

  TEST_CASE("Chance and NextDouble behave at the edges") {
    Prng prng(11);
    int hits = 0;
    for (int i = 0; i < 10000; ++i) {
      double d = prng.NextDouble();
      REQUIRE(d >= 0.0);
      REQUIRE(d < 1.0);
      hits += prng.Chance(0.25) ? 1 : 0;
      REQUIRE_FALSE(prng.Chance(0.0));
      REQUIRE(prng.Chance(1.0));
    }
    CHECK(hits > 2300);
    CHECK(hits < 2700);
  }

  TEST_CASE("Fork gives an independent, reproducible stream") {
    Prng a(5), b(5);
    Prng fa = a.Fork(), fb = b.Fork();
    CHECK(fa.Next64() == fb.Next64());
    CHECK(fa.Next64() != a.Next64());
  }

  TEST_CASE("RandomUuid: version 4 with the RFC 4122 variant, fixed by the seed") {
    Prng a(42), b(42);
    const std::string id = RandomUuid(a);
    CHECK(id == RandomUuid(b));
    REQUIRE(id.size() == 36);
    for (size_t dash : {8, 13, 18, 23}) CHECK(id[dash] == '-');
    CHECK(id[14] == '4');
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);
    CHECK(RandomUuid(a) != id);
  }
}

}  // namespace
}  // namespace cairn
