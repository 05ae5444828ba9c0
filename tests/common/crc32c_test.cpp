#include "common/crc32c.h"

#include <doctest/doctest.h>

#include <string>

#include "common/random.h"

namespace cairn {
namespace {

TEST_SUITE("common.crc32c") {
  TEST_CASE("published test vectors (RFC 3720 B.4 and the check value)") {
    std::string zeros(32, '\0');
    std::string ones(32, '\xff');
    std::string ascending, descending;
    for (int i = 0; i < 32; ++i) {
      ascending.push_back(static_cast<char>(i));
      descending.push_back(static_cast<char>(31 - i));
    }
    CHECK(Crc32c(zeros) == 0x8A9136AAu);
    CHECK(Crc32c(ones) == 0x62A8AB43u);
    CHECK(Crc32c(ascending) == 0x46DD794Eu);
    CHECK(Crc32c(descending) == 0x113FDB5Cu);
    CHECK(Crc32c("123456789") == 0xE3069283u);
    CHECK(Crc32c("") == 0u);
    // An iSCSI SCSI Read (10) command PDU, RFC 3720 B.4.
    const unsigned char pdu[48] = {0x01, 0xc0, 0, 0, 0, 0, 0,    0, 0,    0, 0, 0,    0, 0, 0, 0,
                                   0x14, 0,    0, 0, 0, 0, 0x04, 0, 0,    0, 0, 0x14, 0, 0, 0, 0x18,
                                   0x28, 0,    0, 0, 0, 0, 0,    0, 0x02, 0, 0, 0,    0, 0, 0, 0};
    CHECK(Crc32c(std::string_view(reinterpret_cast<const char*>(pdu), sizeof pdu)) == 0xD9963A56u);
  }

  TEST_CASE("extending piecewise equals one pass, and both code paths agree") {
    Prng prng(1);
    for (int round = 0; round < 200; ++round) {
      std::string data(prng.Below(300), '\0');
      for (char& c : data) c = static_cast<char>(prng.Next64());
      const size_t cut = data.empty() ? 0 : prng.Below(data.size() + 1);
      const uint32_t whole = Crc32c(data);
      CHECK(Crc32cExtend(Crc32c(data.substr(0, cut)), std::string_view(data).substr(cut)) == whole);
      CHECK(Crc32cExtendPortable(0, data) == whole);
    }
  }

  TEST_CASE("a single flipped bit changes the checksum") {
    std::string data = "the quick brown fox jumps over the lazy dog";
    const uint32_t before = Crc32c(data);
    for (size_t i = 0; i < data.size() * 8; ++i) {
      std::string flipped = data;
      flipped[i / 8] = static_cast<char>(flipped[i / 8] ^ (1 << (i % 8)));
      REQUIRE(Crc32c(flipped) != before);
    }
  }
}

}  // namespace
}  // namespace cairn
