#include "common/framing.h"

#include "common/codec.h"
#include "common/crc32c.h"

namespace cairn {
namespace {

enum class ParseState : uint8_t { kFrame, kNeedMore, kBad };

struct ParsedFrame {
  ParseState state = ParseState::kNeedMore;
  std::string_view payload;
  size_t frame_bytes = 0;
  Status error;
};

// Parses one frame at the start of `data`.
ParsedFrame ParseFrame(std::string_view data, size_t payload_bytes_max) {
  ParsedFrame result;
  uint64_t length = 0;
  size_t length_bytes = 0;
  for (;; ++length_bytes) {
    if (length_bytes == kVarint64BytesMax) {
      result.state = ParseState::kBad;
      result.error = Status::Corruption("frame length varint is longer than 10 bytes");
      return result;
    }
    if (length_bytes >= data.size()) return result;  // need more
    const auto byte = static_cast<uint8_t>(data[length_bytes]);
    length |= static_cast<uint64_t>(byte & 0x7F) << (7 * length_bytes);
    if ((byte & 0x80) == 0) break;
  }
  ++length_bytes;
  if (length > payload_bytes_max) {
    result.state = ParseState::kBad;
    result.error = Status::ResourceExhausted("frame payload of " + std::to_string(length) +
                                             " bytes exceeds payload_bytes_max " + std::to_string(payload_bytes_max));
    return result;
  }
  const size_t total = length_bytes + 4 + static_cast<size_t>(length);
  if (data.size() < total) return result;  // need more
  Decoder crc_reader(data.substr(length_bytes, 4));
  const uint32_t stored_crc = crc_reader.ReadFixed32();
  const std::string_view payload = data.substr(length_bytes + 4, static_cast<size_t>(length));
  const uint32_t actual_crc = Crc32cExtend(Crc32c(data.substr(0, length_bytes)), payload);
  if (stored_crc != actual_crc) {
    result.state = ParseState::kBad;
    result.error = Status::Corruption("frame checksum mismatch (" + std::to_string(length) + "-byte payload)");
    return result;
  }
  result.state = ParseState::kFrame;
  result.payload = payload;
  result.frame_bytes = total;
  return result;
}

}  // namespace

void AppendFrame(std::string& out, std::string_view payload) {
  const size_t start = out.size();
  AppendVarint64(out, payload.size());
  const uint32_t crc = Crc32cExtend(Crc32c(std::string_view(out).substr(start)), payload);
  Encoder crc_bytes;
  crc_bytes.PutFixed32(crc);
  out += crc_bytes.View();
  out += payload;
}

Result<std::optional<std::string>> FrameDecoder::Next() {
  if (!failed_.IsOk()) return failed_;
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  ParsedFrame frame = ParseFrame(pending, payload_bytes_max_);
  switch (frame.state) {
    case ParseState::kNeedMore:
      // Compact once the consumed prefix dominates, so the buffer does not grow forever.
      if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
      }
      return std::optional<std::string>();
    case ParseState::kBad: failed_ = frame.error; return failed_;
    case ParseState::kFrame: break;
  }
  std::string payload(frame.payload);
  consumed_ += frame.frame_bytes;
  return std::optional<std::string>(std::move(payload));
}

FrameScan ScanFrames(std::string_view data, size_t payload_bytes_max) {
  FrameScan scan;
  while (scan.valid_bytes < data.size()) {
    ParsedFrame frame = ParseFrame(data.substr(scan.valid_bytes), payload_bytes_max);
    if (frame.state == ParseState::kNeedMore) {
      scan.tail = FrameTail::kTruncated;
      return scan;
    }
    if (frame.state == ParseState::kBad) {
      scan.tail = FrameTail::kCorrupt;
      scan.error = frame.error.WithContext("at byte " + std::to_string(scan.valid_bytes));
      return scan;
    }
    scan.payloads.push_back(frame.payload);
    scan.valid_bytes += frame.frame_bytes;
  }
  return scan;
}

}  // namespace cairn
