// Seeds for simulation tests, so that any failure can be replayed from one seed.
//
//   for (uint64_t seed : cairn::sim::TestSeeds(1000)) {
//     cairn::sim::Simulator sim(seed);
//     INFO(sim.ReproHint(cairn::sim::kSimTestBinary, "my case"));
//     ...
//   }
//
// Environment:
//   CAIRN_SEED=<n>   run only seed n (the rerun command a failure prints);
//   CAIRN_SEEDS=<k>  run k seeds instead of the test's default count (e.g. more in a soak run).
// Seeds run from `first` (default 1) upward, so the same count always means the same seeds.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/assert.h"

namespace cairn::sim {

// The binary holding tests/sim's own cases, for ReproHint.
inline constexpr const char* kSimTestBinary = "tests/sim/cairn_test_sim";

namespace seeds_internal {

inline bool ParseSeedVariable(const char* name, uint64_t& value) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return false;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(text, &end, 10);
  CAIRN_ASSERT(end != nullptr && *end == '\0', std::string(name) + " must be a number, got '" + text + "'");
  value = parsed;
  return true;
}

}  // namespace seeds_internal

// The seeds to run: CAIRN_SEED alone if set, else CAIRN_SEEDS seeds, else `default_count`
// seeds, counting from `first`.
inline std::vector<uint64_t> TestSeeds(uint64_t default_count, uint64_t first = 1) {
  uint64_t single = 0;
  if (seeds_internal::ParseSeedVariable("CAIRN_SEED", single)) return {single};
  uint64_t count = default_count;
  (void)seeds_internal::ParseSeedVariable("CAIRN_SEEDS", count);
  std::vector<uint64_t> seeds;
  seeds.reserve(count);
  for (uint64_t i = 0; i < count; ++i) seeds.push_back(first + i);
  return seeds;
}

}  // namespace cairn::sim
