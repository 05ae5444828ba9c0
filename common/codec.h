// Binary encoding helpers: little-endian fixed-width integers, LEB128 varints and
// length-prefixed byte strings.
//
// Encoder appends to a string. Decoder reads from a view with a sticky error: after the first
// failure every read returns a zero value and Finish() reports what went wrong, so decoding
// code reads straight through and checks once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cairn {

inline constexpr size_t kVarint64BytesMax = 10;

class Encoder {
 public:
  void PutU8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void PutFixed32(uint32_t v);
  void PutFixed64(uint64_t v);
  void PutVarint64(uint64_t v);
  // Varint length, then the bytes.
  void PutBytes(std::string_view bytes);
  // The bytes as they are, with no length.
  void PutRaw(std::string_view bytes) { out_.append(bytes); }

  size_t Size() const { return out_.size(); }
  const std::string& View() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Decoder {
 public:
  // `what` names the thing being decoded in error messages ("raft message", "log entry").
  explicit Decoder(std::string_view input, std::string_view what = "record") : input_(input), what_(what) {}

  uint8_t ReadU8();
  uint32_t ReadFixed32();
  uint64_t ReadFixed64();
  uint64_t ReadVarint64();
  // A length-prefixed byte string of at most `bytes_max` bytes; the view points into the input.
  std::string_view ReadBytes(size_t bytes_max);
  // Exactly `n` bytes as they are.
  std::string_view ReadRaw(size_t n);
  // Marks the input invalid with a message (for checks the caller makes on decoded values).
  void Fail(std::string_view why);

  bool HasError() const { return !status_.IsOk(); }
  size_t Remaining() const { return input_.size(); }
  // OK if no read failed; with `require_end`, also fails when bytes are left over.
  Status Finish(bool require_end = true) const;

 private:
  bool Need(size_t n, std::string_view field);

  std::string_view input_;
  std::string_view what_;
  size_t offset_ = 0;
  Status status_;
};

// Appends a varint to `out` (for callers that build strings directly).
void AppendVarint64(std::string& out, uint64_t v);

}  // namespace cairn
