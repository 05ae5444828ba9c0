#include "common/codec.h"

namespace cairn {

void AppendVarint64(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void Encoder::PutFixed32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void Encoder::PutFixed64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void Encoder::PutVarint64(uint64_t v) { AppendVarint64(out_, v); }

void Encoder::PutBytes(std::string_view bytes) {
  PutVarint64(bytes.size());
  out_.append(bytes);
}

bool Decoder::Need(size_t n, std::string_view field) {
  if (HasError()) return false;
  if (input_.size() >= n) return true;
  Fail(std::string(field) + " truncated: need " + std::to_string(n) + " bytes, have " + std::to_string(input_.size()));
  return false;
}

void Decoder::Fail(std::string_view why) {
  if (HasError()) return;  // keep the first error: later ones are consequences
  status_ = Status::Corruption(std::string(what_) + " at byte " + std::to_string(offset_) + ": " + std::string(why));
  input_ = {};
}

uint8_t Decoder::ReadU8() {
  if (!Need(1, "u8")) return 0;
  const auto v = static_cast<uint8_t>(input_[0]);
  input_.remove_prefix(1);
  offset_ += 1;
  return v;
}

uint32_t Decoder::ReadFixed32() {
  if (!Need(4, "fixed32")) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(input_[i])) << (8 * i);
  input_.remove_prefix(4);
  offset_ += 4;
  return v;
}

uint64_t Decoder::ReadFixed64() {
  if (!Need(8, "fixed64")) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(input_[i])) << (8 * i);
  input_.remove_prefix(8);
  offset_ += 8;
  return v;
}

uint64_t Decoder::ReadVarint64() {
  if (HasError()) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < kVarint64BytesMax; ++i) {
    if (i >= input_.size()) {
      Fail("varint truncated");
      return 0;
    }
    const auto byte = static_cast<uint8_t>(input_[i]);
    // The tenth byte may only contribute the top bit of a 64-bit value.
    if (i == kVarint64BytesMax - 1 && byte > 1) {
      Fail("varint overflows 64 bits");
      return 0;
    }
    v |= static_cast<uint64_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) {
      input_.remove_prefix(i + 1);
      offset_ += i + 1;
      return v;
    }
  }
  Fail("varint longer than 10 bytes");
  return 0;
}

std::string_view Decoder::ReadBytes(size_t bytes_max) {
  const uint64_t length = ReadVarint64();
  if (HasError()) return {};
  if (length > bytes_max) {
    Fail("byte string of " + std::to_string(length) + " bytes exceeds the limit of " + std::to_string(bytes_max));
    return {};
  }
  return ReadRaw(static_cast<size_t>(length));
}

std::string_view Decoder::ReadRaw(size_t n) {
  if (!Need(n, "byte string")) return {};
  std::string_view v = input_.substr(0, n);
  input_.remove_prefix(n);
  offset_ += n;
  return v;
}

Status Decoder::Finish(bool require_end) const {
  if (HasError()) return status_;
  if (require_end && !input_.empty()) {
    return Status::Corruption(std::string(what_) + ": " + std::to_string(input_.size()) +
                              " unexpected trailing bytes at byte " + std::to_string(offset_));
  }
  return OkStatus();
}

}  // namespace cairn
