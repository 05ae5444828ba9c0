// Internals shared by the UvEnv source files; not part of the public API.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/env.h"

namespace cairn::uv_internal {

// The event loop behind a UvEnv: the libuv loop, the timer queue and the cross-thread post
// queue. Everything but Post() runs on the loop thread.
class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* Uv() { return &loop_; }
  static Loop& Of(const uv_handle_t* handle) { return *static_cast<Loop*>(handle->loop->data); }

  void Run();
  bool RunUntil(const std::function<bool()>& done, Duration timeout);
  void Stop();

  MonoTime Now() const;
  TimerId StartTimer(Duration delay, std::function<void()> fn);
  bool CancelTimer(TimerId id);
  Status Post(std::function<void()> fn);

  // True once destruction has begun; from then on no user callback may run.
  bool ShuttingDown() const { return shutting_down_; }

  // Socket reads land here: the loop thread reads one socket at a time and every read is
  // handed to its callback before the next starts, so one buffer serves them all.
  char* ReadBuffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferBytes = 64 * 1024;

  // Counts the sockets, listeners and streams handed to users, which must all be destroyed
  // before the loop.
  void ObjectOpened() { ++open_objects_; }
  void ObjectClosed() { --open_objects_; }

 private:
  using TimerKey = std::pair<MonoTime, TimerId>;

  static void OnTimer(uv_timer_t* timer);
  static void OnAsync(uv_async_t* async);
  void FireDueTimers();
  void ArmTimer(uint64_t timeout_millis_min = 0);
  void DrainPosts();
  void CheckRunUntil();

  uv_loop_t loop_;
  uv_timer_t timer_;  // armed for the earliest entry of timers_
  uv_async_t async_;  // wakes the loop for posts; referenced, so it also keeps Run() going
  // Active only inside RunUntil(), to end the run as soon as run_until_ holds.
  uv_prepare_t run_until_prepare_;
  uv_check_t run_until_check_;
  std::function<bool()> run_until_;

  // Pending timers ordered by deadline, then by start order, so equal deadlines fire in the
  // order they were started. timer_deadlines_ indexes the same entries by id.
  std::map<TimerKey, std::function<void()>> timers_;
  std::unordered_map<TimerId, MonoTime> timer_deadlines_;
  TimerId next_timer_id_ = 1;  // ids only grow, so an id is never reused

  bool running_ = false;  // inside Run() or RunUntil()
  bool stop_requested_ = false;
  bool shutting_down_ = false;
  size_t open_objects_ = 0;
  std::unique_ptr<char[]> read_buffer_;

  std::mutex post_mutex_;
  std::deque<std::function<void()>> posts_;  // guarded by post_mutex_
  bool posts_closed_ = false;                // guarded by post_mutex_
};

// A heap object that owns a libuv handle (a member of itself). libuv closes handles
// asynchronously, so such an object cannot be freed when its user lets go of it: ownership
// passes to the handle (handle->data points at the owner) and the close callback frees it.
// This is the one place where ownership travels through a raw pointer, because the C API
// offers no other way.
class HandleOwner {
 public:
  virtual ~HandleOwner() = default;
  // Starts closing `handle` unless it is closing already; OnHandleClosed() follows later.
  static void Close(uv_handle_t* handle);
  template <typename T>
  static T& From(const void* handle) {
    return static_cast<T&>(*static_cast<HandleOwner*>(static_cast<const uv_handle_t*>(handle)->data));
  }

 protected:
  // Called once the handle is closed. Frees the owner unless a subclass still has a user.
  virtual void OnHandleClosed() { delete this; }

 private:
  static void OnClosed(uv_handle_t* handle);
};

// A libuv error as a Status: "<what>: <message> (<ERRNAME>)".
Status UvError(std::string_view what, int code);
// An errno value as a Status naming the operation and the path; ENOENT becomes kNotFound.
Status ErrnoError(std::string_view what, const std::string& path, int error);
Result<sockaddr_in> ToSockaddr(const NetAddress& address);
NetAddress FromSockaddr(const sockaddr* address);
// Gives libuv the shared read buffer, at most `kReadBufferBytes`.
void AllocateReadBuffer(uv_handle_t* handle, size_t suggested_bytes, uv_buf_t* buffer);

// Files (uv_env_files.cpp).
Result<std::unique_ptr<WritableFile>> OpenWritableFile(const std::string& path, bool append);
Result<std::string> ReadWholeFile(const std::string& path);
Status RenamePath(const std::string& from, const std::string& to);
Status RemovePath(const std::string& path);
Status CreateDirectories(const std::string& path);
Status SyncDirectory(const std::string& path);
Result<std::vector<std::string>> ListDirectory(const std::string& path);
bool PathExists(const std::string& path);

// Sockets (uv_env_udp.cpp, uv_env_tcp.cpp).
Result<std::unique_ptr<UdpSocket>> OpenUdpSocket(Loop& loop, const NetAddress& bind, UdpReceiveFn on_receive);
Result<std::unique_ptr<TcpListener>> ListenTcpSocket(Loop& loop, const NetAddress& bind, TcpAcceptFn on_accept);
void ConnectTcpSocket(Loop& loop, const NetAddress& to, TcpConnectFn on_done);

}  // namespace cairn::uv_internal
