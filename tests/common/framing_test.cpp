#include "common/framing.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/random.h"

namespace cairn {
namespace {

std::vector<std::string> RandomPayloads(Prng& prng, int count) {
  std::vector<std::string> payloads;
  for (int i = 0; i < count; ++i) {
    std::string p(prng.Below(prng.Chance(0.1) ? 70000 : 200), '\0');
    for (char& c : p) c = static_cast<char>(prng.Next64());
    payloads.push_back(std::move(p));
  }
  return payloads;
}

std::vector<std::string> DrainFrames(FrameDecoder& decoder) {
  std::vector<std::string> frames;
  while (true) {
    auto next = decoder.Next();
    REQUIRE(next.IsOk());
    if (!next->has_value()) return frames;
    frames.push_back(std::move(**next));
  }
}

TEST_SUITE("common.framing") {
  TEST_CASE("frames round trip through a stream fed in random chunk sizes") {
    Prng prng(3);
    for (int round = 0; round < 20; ++round) {
      const auto payloads = RandomPayloads(prng, 30);
      std::string stream;
      for (const auto& p : payloads) AppendFrame(stream, p);
      FrameDecoder decoder;
      std::vector<std::string> got;
      size_t pos = 0;
      while (pos < stream.size()) {
        const size_t n = std::min<size_t>(stream.size() - pos, 1 + prng.Below(5000));
        decoder.Feed(std::string_view(stream).substr(pos, n));
        pos += n;
        for (auto& f : DrainFrames(decoder)) got.push_back(std::move(f));
      }
      CHECK(got == payloads);
      CHECK(decoder.BufferedBytes() == 0);
    }
  }

  TEST_CASE("every single-bit corruption of a frame is detected") {
    const std::string frame = EncodeFrame("payload that matters");
    for (size_t bit = 0; bit < frame.size() * 8; ++bit) {
      std::string bad = frame;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
      FrameScan scan = ScanFrames(bad);
      CAPTURE(bit);
      // A flipped length bit may make the frame look longer (incomplete) rather than wrong;
      // it must never be accepted as a good frame.
      CHECK(scan.payloads.empty());
      CHECK(scan.tail != FrameTail::kClean);
    }
  }

  TEST_CASE("a stream decoder stays failed after corruption") {
    std::string stream = EncodeFrame("one") + EncodeFrame("two");
    stream[stream.size() - 1] ^= 0x01;
    FrameDecoder decoder;
    decoder.Feed(stream);
    auto first = decoder.Next();
    REQUIRE(first.IsOk());
    CHECK(**first == "one");
    auto second = decoder.Next();
    CHECK(second.GetStatus().Code() == StatusCode::kCorruption);
    decoder.Feed(EncodeFrame("three"));
    CHECK_FALSE(decoder.Next().IsOk());
  }

  TEST_CASE("an oversized length is refused before any allocation") {
    FrameDecoder decoder(/*payload_bytes_max=*/1024);
    decoder.Feed(EncodeFrame(std::string(1025, 'x')).substr(0, 3));
    auto next = decoder.Next();
    CHECK(next.GetStatus().Code() == StatusCode::kResourceExhausted);
    std::string huge_length("\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 9);
    CHECK(ScanFrames(huge_length).tail == FrameTail::kCorrupt);
  }

  TEST_CASE("scanning stored frames tells a torn tail from corruption") {
    std::string log = EncodeFrame("a") + EncodeFrame("bb") + EncodeFrame("ccc");
    FrameScan clean = ScanFrames(log);
    CHECK(clean.tail == FrameTail::kClean);
    CHECK(clean.payloads.size() == 3);
    CHECK(clean.valid_bytes == log.size());

    const size_t two_frames = EncodeFrame("a").size() + EncodeFrame("bb").size();
    for (size_t cut = two_frames + 1; cut < log.size(); ++cut) {
      FrameScan torn = ScanFrames(std::string_view(log).substr(0, cut));
      CHECK(torn.tail == FrameTail::kTruncated);
      CHECK(torn.payloads.size() == 2);
      CHECK(torn.valid_bytes == two_frames);
    }

    std::string corrupt = log;
    corrupt[EncodeFrame("a").size() + 5] ^= 0x40;  // inside "bb"'s payload
    FrameScan bad = ScanFrames(corrupt);
    CHECK(bad.tail == FrameTail::kCorrupt);
    CHECK(bad.payloads.size() == 1);
    CHECK(bad.error.Message().find("checksum mismatch") != std::string::npos);
  }
}

}  // namespace
}  // namespace cairn
