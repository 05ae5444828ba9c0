#include "common/random.h"

#include <cinttypes>
#include <cstdio>

#include "common/assert.h"

namespace cairn {
namespace {

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

uint64_t SplitMix64(uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Prng::Prng(uint64_t seed) {
  uint64_t s = seed;
  for (auto& word : state_) word = SplitMix64(s);
}

uint64_t Prng::Next64() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Prng::Below(uint64_t bound) {
  CAIRN_ASSERT(bound > 0, "Prng::Below needs a positive bound");
  // Lemire: take the high 64 bits of a 128-bit product; reject the few low values that would
  // make some results more likely than others.
  unsigned __int128 product = static_cast<unsigned __int128>(Next64()) * bound;
  uint64_t low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(Next64()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

int64_t Prng::Between(int64_t low, int64_t high) {
  CAIRN_ASSERT(low <= high, "Prng::Between needs low <= high");
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  if (span == UINT64_MAX) return static_cast<int64_t>(Next64());
  return static_cast<int64_t>(static_cast<uint64_t>(low) + Below(span + 1));
}

double Prng::NextDouble() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }

bool Prng::Chance(double p) {
  if (p <= 0.0) return false;
  if (p >= 1.0) return true;
  return NextDouble() < p;
}

Prng Prng::Fork() { return Prng(Next64() ^ 0x5851f42d4c957f2dULL); }

std::string RandomUuid(Prng& prng) {
  const uint64_t hi = prng.Next64();
  const uint64_t lo = prng.Next64();
  char text[37];
  std::snprintf(text, sizeof text, "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%04" PRIx32 "-%012" PRIx64,
                static_cast<uint32_t>(hi >> 32), static_cast<uint32_t>((hi >> 16) & 0xffff),
                static_cast<uint32_t>(hi & 0x0fff), static_cast<uint32_t>(0x8000 | ((lo >> 48) & 0x3fff)),
                static_cast<uint64_t>(lo & 0xffffffffffffULL));
  return text;
}

}  // namespace cairn
