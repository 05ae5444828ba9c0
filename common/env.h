// Env: the one door to the operating system.
//
// Every read of time, every timer, every source of randomness, every file and every socket in
// Cairn goes through an Env. Two implementations exist:
//   - UvEnv (common/uv_env.h): the real one, one libuv event loop per process;
//   - SimEnv (tests/sim/simulator.h): virtual time, a simulated lossy network and a disk that
//     loses unsynced writes on a crash, all driven by one seed.
// Code written against Env runs unchanged in both, which is what lets the simulator test the
// real code.
//
// Threading contract: an Env and everything it hands out (timers, sockets, files) belong to the
// Env's loop thread. Every method must be called on that thread, and every callback runs on it,
// except Post(), which any thread may call. Callbacks never run re-entrantly from inside the
// call that registers them; they run from the loop.
//
// Files are synchronous: a call returns when the operation has reached the kernel (or, for
// Sync/SyncDir, stable storage). Long fsync work belongs on a storage thread or must be batched
// (one sync per Raft Ready); files opened from an Env may be used from one other thread at a
// time, but the Env itself may not.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cairn {

// The clock behind MonoTime: monotonic, arbitrary epoch, nanosecond resolution. It has no
// now(): time is read only through Env::Now().
struct EnvClock {
  using rep = int64_t;
  using period = std::nano;
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::time_point<EnvClock>;
  static constexpr bool is_steady = true;
};
using Duration = std::chrono::nanoseconds;
using MonoTime = EnvClock::time_point;

// An IPv4 host and port, e.g. 127.0.0.1:8300. Host is a dotted quad; names are resolved by the
// caller, never by Env.
struct NetAddress {
  std::string host;
  uint16_t port = 0;

  // Parses "a.b.c.d:port". Rejects names, missing or out-of-range ports.
  static Result<NetAddress> Parse(std::string_view text);
  std::string ToString() const;
  friend auto operator<=>(const NetAddress&, const NetAddress&) = default;
};

// Opaque handle for a pending timer. 0 is never a valid id.
using TimerId = uint64_t;

// A file opened for writing. Writes are buffered in the kernel until Sync().
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  // Makes every byte appended so far durable (fdatasync). Until then a crash may lose them.
  virtual Status Sync() = 0;
  // Closes the file; further calls fail. Does not sync.
  virtual Status Close() = 0;
};

// Told the destination of a datagram that was refused (see UdpSocket::SetUnreachableHandler).
using UdpUnreachableFn = std::function<void(const NetAddress& to)>;

// A bound UDP socket. Destroying it closes it; no callback runs after destruction.
class UdpSocket {
 public:
  virtual ~UdpSocket() = default;
  // Sends one datagram (at most limits::kUdpDatagramBytesMax bytes). Best effort: OK means
  // handed to the network, not delivered.
  virtual Status SendTo(const NetAddress& to, std::string_view datagram) = 0;
  virtual NetAddress LocalAddress() const = 0;
  // Asks to hear when a datagram sent to `to` was refused: the destination host is up and
  // answered that nothing listens on that port (ICMP port unreachable). Best effort, like the
  // datagrams themselves: a lost or filtered refusal is never reported. The handler runs on the
  // loop and never after the socket is destroyed. A socket that cannot tell ignores the call.
  virtual void SetUnreachableHandler(UdpUnreachableFn on_unreachable) { (void)on_unreachable; }
};
using UdpReceiveFn = std::function<void(const NetAddress& from, std::string_view datagram)>;

// Callbacks for a TCP stream. on_data gets bytes in order, in chunks of any size; on_close runs
// exactly once when the stream ends for any reason (peer closed: OK; reset or error: not OK),
// and never after the stream object has been destroyed or Close() was called locally.
struct TcpStreamHandlers {
  std::function<void(std::string_view data)> on_data;
  std::function<void(Status reason)> on_close;
};

// A connected TCP stream. Reading starts only when Start() is called, so the owner can set up
// before the first byte arrives. Destroying the stream closes it. It is safe to destroy the
// stream (or call Close) from inside its own callbacks.
class TcpStream {
 public:
  virtual ~TcpStream() = default;
  virtual void Start(TcpStreamHandlers handlers) = 0;
  // Queues bytes to send, in order. Fails with kResourceExhausted when the unsent bytes would
  // exceed limits::kTcpWriteQueueBytesMax (a slow reader is never allowed to grow memory), and
  // with kUnavailable once the stream is closed.
  virtual Status Write(std::string data) = 0;
  // Bytes queued but not yet handed to the kernel.
  virtual size_t QueuedBytes() const = 0;
  // Closes the stream after nothing more is read; queued bytes are flushed best-effort.
  // on_close does not run for a local Close.
  virtual void Close() = 0;
  virtual NetAddress PeerAddress() const = 0;
  virtual NetAddress LocalAddress() const = 0;
};

// A listening TCP socket. Destroying it stops accepting; streams already accepted live on.
class TcpListener {
 public:
  virtual ~TcpListener() = default;
  virtual NetAddress LocalAddress() const = 0;
};
using TcpAcceptFn = std::function<void(std::unique_ptr<TcpStream> stream)>;
using TcpConnectFn = std::function<void(Result<std::unique_ptr<TcpStream>> stream)>;

class Env {
 public:
  virtual ~Env() = default;

  // --- time and timers ---
  virtual MonoTime Now() = 0;
  // Wall-clock milliseconds since the Unix epoch, for humans (logs, API fields) only; never for
  // ordering or timeouts.
  virtual int64_t WallMillis() = 0;
  // Runs `fn` once on the loop after at least `delay`. Returns an id for CancelTimer.
  virtual TimerId StartTimer(Duration delay, std::function<void()> fn) = 0;
  // Cancels a pending timer. Returns false if it already ran or was cancelled.
  virtual bool CancelTimer(TimerId id) = 0;

  // --- randomness ---
  // 64 random bits, for seeding a component's own Prng. In simulation these come from the
  // simulation's seed, so a run is reproducible.
  virtual uint64_t RandomSeed() = 0;

  // --- files ---
  // Creates `path` or truncates it to empty.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens `path` for appending, creating it if missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Atomically replaces `to` with `from`. Durable only after SyncDir of the parent directory.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // Creates a directory and any missing parents; OK if it exists.
  virtual Status CreateDir(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status SyncDir(const std::string& path) = 0;
  // Names (not paths) of the entries in a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;

  // --- network ---
  // Binds a UDP socket (port 0 picks a free port; see LocalAddress()).
  virtual Result<std::unique_ptr<UdpSocket>> OpenUdp(const NetAddress& bind, UdpReceiveFn on_receive) = 0;
  virtual Result<std::unique_ptr<TcpListener>> ListenTcp(const NetAddress& bind, TcpAcceptFn on_accept) = 0;
  // Connects; `on_done` runs later on the loop with the stream or the reason it failed.
  virtual void ConnectTcp(const NetAddress& to, TcpConnectFn on_done) = 0;

  // --- other threads ---
  // Runs `fn` on the loop thread soon. The only method that may be called from any thread.
  // Returns kResourceExhausted when limits::kLoopPostQueueMax posts are already waiting, and
  // kUnavailable once the loop has stopped.
  virtual Status Post(std::function<void()> fn) = 0;
};

// Joins path components with a single '/'.
std::string JoinPath(std::string_view directory, std::string_view name);
// The directory part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string ParentDir(std::string_view path);

// Writes `contents` to `path` durably and atomically: a temporary file, fsync, rename over
// `path`, fsync of the directory. After a crash `path` holds either the old or the new contents.
Status WriteFileAtomically(Env& env, const std::string& path, std::string_view contents);

}  // namespace cairn
