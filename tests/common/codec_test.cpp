#include "common/codec.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

namespace cairn {
namespace {

TEST_SUITE("common.codec") {
  TEST_CASE("integers and byte strings round trip") {
    const std::vector<uint64_t> values = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (1ULL << 56) + 3, UINT64_MAX};
    Encoder e;
    for (uint64_t v : values) {
      e.PutVarint64(v);
      e.PutFixed64(v);
      e.PutFixed32(static_cast<uint32_t>(v));
    }
    e.PutU8(0xAB);
    e.PutBytes("hello");
    e.PutBytes("");
    Decoder d(e.View());
    for (uint64_t v : values) {
      CHECK(d.ReadVarint64() == v);
      CHECK(d.ReadFixed64() == v);
      CHECK(d.ReadFixed32() == static_cast<uint32_t>(v));
    }
    CHECK(d.ReadU8() == 0xAB);
    CHECK(d.ReadBytes(100) == "hello");
    CHECK(d.ReadBytes(100).empty());
    CHECK(d.Finish().IsOk());
  }

  TEST_CASE("varint sizes are minimal and fixed encodings are little-endian") {
    Encoder e;
    e.PutVarint64(127);
    CHECK(e.Size() == 1);
    e.PutVarint64(128);
    CHECK(e.Size() == 3);
    e.PutVarint64(UINT64_MAX);
    CHECK(e.Size() == 3 + 10);
    Encoder f;
    f.PutFixed32(0x01020304);
    CHECK(f.View() == std::string("\x04\x03\x02\x01", 4));
  }

  TEST_CASE("truncated input fails with a message that names the field and offset") {
    Encoder e;
    e.PutFixed64(42);
    std::string cut = e.View().substr(0, 5);
    Decoder d(cut, "log entry");
    CHECK(d.ReadFixed64() == 0);
    Status s = d.Finish();
    CHECK(s.Code() == StatusCode::kCorruption);
    CHECK(s.Message().find("log entry at byte 0") != std::string::npos);
    CHECK(s.Message().find("fixed64 truncated") != std::string::npos);
    // The error is sticky: later reads return zero values and the first error is kept.
    CHECK(d.ReadU8() == 0);
    CHECK(d.Finish() == s);
  }

  TEST_CASE("malformed varints are rejected") {
    const std::string two_continuations("\x80\x80", 2);
    Decoder unterminated(two_continuations);
    (void)unterminated.ReadVarint64();
    CHECK(unterminated.Finish().Message().find("varint truncated") != std::string::npos);

    std::string too_long(11, '\x80');
    Decoder long_varint(too_long);
    (void)long_varint.ReadVarint64();
    CHECK(long_varint.HasError());

    std::string overflow(9, '\xff');
    overflow.push_back('\x02');  // the tenth byte may only be 0 or 1
    Decoder overflowing(overflow);
    (void)overflowing.ReadVarint64();
    CHECK(overflowing.Finish().Message().find("overflows") != std::string::npos);
  }

  TEST_CASE("byte strings over their limit and trailing bytes are rejected") {
    Encoder e;
    e.PutBytes(std::string(50, 'x'));
    Decoder d(e.View());
    CHECK(d.ReadBytes(49).empty());
    CHECK(d.Finish().Message().find("exceeds the limit of 49") != std::string::npos);

    const std::string two_bytes("\x01\x02", 2);
    Decoder trailing(two_bytes);
    CHECK(trailing.ReadU8() == 1);
    CHECK_FALSE(trailing.Finish().IsOk());
    CHECK(trailing.Finish(/*require_end=*/false).IsOk());
  }
}

}  // namespace
}  // namespace cairn
