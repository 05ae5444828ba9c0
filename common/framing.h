// Length-prefixed, checksummed frames: the unit of every TCP message between peers and of every
// record in an append-only file.
//
// Layout of one frame:
//   varint   payload length (at most the decoder's payload_bytes_max)
//   fixed32  CRC-32C over the length bytes and the payload
//   bytes    payload
// Covering the length with the checksum means a flipped length bit is caught as corruption
// instead of being trusted to slice the stream in the wrong place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits.h"
#include "common/status.h"

namespace cairn {

inline constexpr size_t kFrameHeaderBytesMax = 10 + 4;  // varint length + crc

void AppendFrame(std::string& out, std::string_view payload);
inline std::string EncodeFrame(std::string_view payload) {
  std::string out;
  AppendFrame(out, payload);
  return out;
}

// Incremental decoder for a byte stream (TCP): feed bytes as they arrive, take whole frames.
// After the first corrupt or oversized frame it stays failed: a stream cannot be resynchronized
// once a frame boundary is lost, so the caller must drop the connection.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t payload_bytes_max = limits::kFramePayloadBytesMax)
      : payload_bytes_max_(payload_bytes_max) {}

  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame's payload; nullopt if more bytes are needed; an error (Corruption or
  // ResourceExhausted) if the stream is broken.
  Result<std::optional<std::string>> Next();
  // Bytes buffered but not yet returned as frames.
  size_t BufferedBytes() const { return buffer_.size() - consumed_; }

 private:
  size_t payload_bytes_max_;
  std::string buffer_;
  size_t consumed_ = 0;
  Status failed_;
};

// How a run of frames stored back to back (an append-only file) ended.
enum class FrameTail : uint8_t {
  kClean,      // the data ended exactly at a frame boundary
  kTruncated,  // the last frame is incomplete: a torn write at the tail, safe to cut off
  kCorrupt,    // a complete frame failed its checksum or a length is impossible: stop
};

struct FrameScan {
  std::vector<std::string_view> payloads;  // views into the scanned data
  size_t valid_bytes = 0;                  // bytes up to the end of the last good frame
  FrameTail tail = FrameTail::kClean;
  Status error;  // set when tail == kCorrupt
};

// Splits stored data into frames. Stops at the first incomplete or corrupt frame.
FrameScan ScanFrames(std::string_view data, size_t payload_bytes_max = limits::kFramePayloadBytesMax);

}  // namespace cairn
