// A seeded pseudo-random generator whose output is fixed by its seed on every platform.
//
// Algorithm: xoshiro256** 1.0 (Blackman and Vigna, https://prng.di.unimi.it/), with its
// 256-bit state expanded from a 64-bit seed by SplitMix64, as the authors recommend.
// Ranges are drawn by Lemire's multiply-and-reject method ("Fast Random Integer Generation in
// an Interval", 2019), never by std::uniform_*_distribution, whose output differs between
// standard libraries. The same seed therefore gives the same sequence in every build, which
// the simulator depends on to replay a run.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace cairn {

// SplitMix64 step: advances `state` and returns the next output. Also a good 64-bit mixer.
uint64_t SplitMix64(uint64_t& state);

class Prng {
 public:
  explicit Prng(uint64_t seed);

  // The next 64 uniformly distributed bits.
  uint64_t Next64();
  // Uniform in [0, bound). Precondition: bound > 0.
  uint64_t Below(uint64_t bound);
  // Uniform in [low, high] (both inclusive). Precondition: low <= high.
  int64_t Between(int64_t low, int64_t high);
  // Uniform double in [0, 1) with 53 random bits.
  double NextDouble();
  // True with probability `p` (p <= 0: never; p >= 1: always).
  bool Chance(double p);
  // A new generator whose sequence is independent of this one's continuation: for giving each
  // component of a simulation its own stream from one master seed.
  Prng Fork();

 private:
  std::array<uint64_t, 4> state_;
};

// A version 4 (random) UUID with the RFC 4122 variant bits, drawn from `prng`.
std::string RandomUuid(Prng& prng);

}  // namespace cairn
