// Every bound in Cairn in one place. Each limit is named `*_max` (or `*_min`) and checked at
// runtime where the thing it bounds is created or received; exceeding one gives a
// kResourceExhausted or kInvalidArgument error that names the limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cairn::limits {

// Framing (common/framing.h): the largest payload a single frame may carry. Bigger frames are
// rejected before any allocation, so a corrupt length cannot make a reader allocate gigabytes.
inline constexpr size_t kFramePayloadBytesMax = 64 * 1024 * 1024;

// Network (common/env.h).
inline constexpr size_t kUdpDatagramBytesMax = 65507;               // IPv4 UDP payload ceiling
inline constexpr size_t kTcpWriteQueueBytesMax = 64 * 1024 * 1024;  // per stream, unsent bytes
inline constexpr size_t kTcpReadChunkBytesMax = 64 * 1024;          // one on_data callback at most
// Datagrams waiting for the kernel's send buffer. Sending is best effort, so beyond this a
// datagram is refused rather than queued.
inline constexpr size_t kUdpSendQueueBytesMax = 4 * 1024 * 1024;
// After a local close, queued bytes get this long to reach the kernel before the connection is
// dropped, so a peer that never reads cannot pin the queue forever.
inline constexpr int64_t kTcpCloseFlushMillisMax = 5000;

// HTTP client (http/http_client.h): an answer's status line and headers, and the whole answer.
// A bigger one is refused (kResourceExhausted) and its connection closed, so a confused or
// hostile peer cannot make a client buffer without end.
inline constexpr size_t kHttpResponseHeadBytesMax = 64 * 1024;
inline constexpr size_t kHttpResponseBytesMax = 64 * 1024 * 1024;

// Cross-thread posts into the event loop (common/env.h Env::Post).
inline constexpr size_t kLoopPostQueueMax = 1 << 20;

// Logging: identical warnings from one call site are printed at most this often.
inline constexpr int64_t kLogRepeatIntervalMillisMin = 1000;

}  // namespace cairn::limits
