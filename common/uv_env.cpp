#include "common/uv_env.h"

#include <arpa/inet.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/assert.h"
#include "common/limits.h"
#include "common/uv_env_internal.h"

namespace cairn {
namespace uv_internal {

Loop::Loop() : read_buffer_(std::make_unique<char[]>(kReadBufferBytes)) {
  static_assert(kReadBufferBytes >= limits::kTcpReadChunkBytesMax);
  static_assert(kReadBufferBytes > limits::kUdpDatagramBytesMax, "a full datagram must fit without truncation");
  CAIRN_ASSERT(uv_loop_init(&loop_) == 0, "uv_loop_init failed");
  loop_.data = this;
  CAIRN_ASSERT(uv_timer_init(&loop_, &timer_) == 0, "uv_timer_init failed");
  timer_.data = this;
  CAIRN_ASSERT(uv_async_init(&loop_, &async_, &Loop::OnAsync) == 0, "uv_async_init failed");
  async_.data = this;
  CAIRN_ASSERT(uv_prepare_init(&loop_, &run_until_prepare_) == 0, "uv_prepare_init failed");
  run_until_prepare_.data = this;
  CAIRN_ASSERT(uv_check_init(&loop_, &run_until_check_) == 0, "uv_check_init failed");
  run_until_check_.data = this;
}

Loop::~Loop() {
  CAIRN_ASSERT(open_objects_ == 0, "destroy every socket, listener and stream before the UvEnv that made them");
  shutting_down_ = true;
  stop_requested_ = true;
  {
    // Under the lock, so that no Post() is inside uv_async_send() when async_ starts closing.
    std::lock_guard<std::mutex> lock(post_mutex_);
    posts_closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&run_until_prepare_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&run_until_check_), nullptr);
  // What remains belongs to no user: connects in flight and streams still flushing on close.
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) HandleOwner::Close(handle);
      },
      nullptr);
  // uv_run may return early because of an earlier uv_stop(); repeat until every close is done.
  while (uv_loop_close(&loop_) == UV_EBUSY) uv_run(&loop_, UV_RUN_DEFAULT);
}

void Loop::Run() {
  CAIRN_ASSERT(!running_, "the loop is already running; Run and RunUntil cannot be nested");
  if (stop_requested_) return;
  running_ = true;
  uv_run(&loop_, UV_RUN_DEFAULT);
  running_ = false;
}

bool Loop::RunUntil(const std::function<bool()>& done, Duration timeout) {
  CAIRN_ASSERT(!running_, "the loop is already running; Run and RunUntil cannot be nested");
  if (stop_requested_ || done()) return done();
  running_ = true;
  bool timed_out = false;
  const TimerId deadline = StartTimer(timeout, [&timed_out] { timed_out = true; });
  run_until_ = [&] { return timed_out || done(); };
  // uv_run(UV_RUN_ONCE) would still block in poll after a timer made `done` true, so the
  // condition is checked before every poll and after it, and uv_stop() ends the run.
  uv_prepare_start(&run_until_prepare_, [](uv_prepare_t* h) { static_cast<Loop*>(h->data)->CheckRunUntil(); });
  uv_check_start(&run_until_check_, [](uv_check_t* h) { static_cast<Loop*>(h->data)->CheckRunUntil(); });
  while (!stop_requested_ && !run_until_()) uv_run(&loop_, UV_RUN_DEFAULT);
  uv_prepare_stop(&run_until_prepare_);
  uv_check_stop(&run_until_check_);
  run_until_ = nullptr;
  running_ = false;
  CancelTimer(deadline);
  return done();
}

void Loop::CheckRunUntil() {
  if (run_until_ && run_until_()) uv_stop(&loop_);
}

void Loop::Stop() {
  stop_requested_ = true;
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    posts_closed_ = true;
  }
  uv_stop(&loop_);
}

MonoTime Loop::Now() const { return MonoTime(Duration(static_cast<int64_t>(uv_hrtime()))); }

TimerId Loop::StartTimer(Duration delay, std::function<void()> fn) {
  CAIRN_ASSERT(fn != nullptr, "StartTimer needs a callback");
  const TimerId id = next_timer_id_++;
  // Clamped so that Now() + delay cannot overflow; a century is "never" for any caller.
  const Duration clamped = std::clamp(delay, Duration::zero(), Duration(std::chrono::hours(24 * 365 * 100)));
  const MonoTime deadline = Now() + clamped;
  const auto [entry, inserted] = timers_.emplace(TimerKey{deadline, id}, std::move(fn));
  CAIRN_ASSERT(inserted);
  timer_deadlines_.emplace(id, deadline);
  if (entry == timers_.begin()) ArmTimer();
  return id;
}

bool Loop::CancelTimer(TimerId id) {
  const auto found = timer_deadlines_.find(id);
  if (found == timer_deadlines_.end()) return false;
  // An early wakeup for a cancelled head is harmless, so the uv timer is left as it is.
  timers_.erase(TimerKey{found->second, id});
  timer_deadlines_.erase(found);
  return true;
}

void Loop::OnTimer(uv_timer_t* timer) {
  Loop& loop = *static_cast<Loop*>(timer->data);
  loop.FireDueTimers();
  // libuv 1.44 runs a timer restarted from a timer callback again in the same pass if it is
  // already due, which would let a chain of zero-delay timers starve I/O. Waiting at least one
  // millisecond sends the chain through the rest of the loop first.
  loop.ArmTimer(/*timeout_millis_min=*/1);
}

void Loop::FireDueTimers() {
  const MonoTime now = Now();
  // Timers started by these callbacks wait for a later iteration, so a callback that keeps
  // restarting a zero-delay timer cannot hold the loop here.
  const TimerId first_new_id = next_timer_id_;
  auto entry = timers_.begin();
  while (entry != timers_.end() && entry->first.first <= now && !stop_requested_) {
    if (entry->first.second >= first_new_id) {
      ++entry;
      continue;
    }
    std::function<void()> fn = std::move(entry->second);
    timer_deadlines_.erase(entry->first.second);
    timers_.erase(entry);
    fn();
    entry = timers_.begin();  // the callback may have started or cancelled timers
  }
}

void Loop::ArmTimer(uint64_t timeout_millis_min) {
  if (timers_.empty()) {
    uv_timer_stop(&timer_);
    return;
  }
  // libuv fires a timer once its cached millisecond clock reaches start + timeout. That clock
  // reads the same monotonic source as uv_hrtime() rounded down, so asking for the first
  // millisecond at or after the deadline guarantees at least the full delay.
  const int64_t deadline_nanos = timers_.begin()->first.first.time_since_epoch().count();
  const uint64_t deadline_millis = static_cast<uint64_t>((deadline_nanos + 999'999) / 1'000'000);
  const uint64_t loop_millis = uv_now(&loop_);
  const uint64_t timeout_millis = deadline_millis > loop_millis ? deadline_millis - loop_millis : 0;
  uv_timer_start(&timer_, &Loop::OnTimer, std::max(timeout_millis, timeout_millis_min), 0);
}

Status Loop::Post(std::function<void()> fn) {
  CAIRN_ASSERT(fn != nullptr, "Post needs a callback");
  std::lock_guard<std::mutex> lock(post_mutex_);
  if (posts_closed_) return Status::Unavailable("the event loop has stopped");
  if (posts_.size() >= limits::kLoopPostQueueMax) {
    return Status::ResourceExhausted("event loop post queue is full (loop_post_queue_max " +
                                     std::to_string(limits::kLoopPostQueueMax) + ")");
  }
  posts_.push_back(std::move(fn));
  // A non-empty queue already has a wakeup on the way: DrainPosts empties it under this lock.
  if (posts_.size() == 1) uv_async_send(&async_);
  return OkStatus();
}

void Loop::OnAsync(uv_async_t* async) { static_cast<Loop*>(async->data)->DrainPosts(); }

void Loop::DrainPosts() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    batch.swap(posts_);
  }
  for (auto& fn : batch) {
    if (stop_requested_) break;  // Stop() is final: what is left is dropped
    fn();
  }
}

void HandleOwner::Close(uv_handle_t* handle) {
  if (!uv_is_closing(handle)) uv_close(handle, &HandleOwner::OnClosed);
}

void HandleOwner::OnClosed(uv_handle_t* handle) { static_cast<HandleOwner*>(handle->data)->OnHandleClosed(); }

Status UvError(std::string_view what, int code) {
  return Status::IoError(std::string(what) + ": " + uv_strerror(code) + " (" + uv_err_name(code) + ")");
}

Status ErrnoError(std::string_view what, const std::string& path, int error) {
  char buffer[256];
  // The GNU strerror_r returns a pointer that may or may not point into `buffer`.
  const char* text = strerror_r(error, buffer, sizeof(buffer));
  std::string message = std::string(what) + " '" + path + "': " + text;
  if (error == ENOENT) return Status::NotFound(std::move(message));
  return Status::IoError(std::move(message));
}

Result<sockaddr_in> ToSockaddr(const NetAddress& address) {
  sockaddr_in out{};
  if (uv_ip4_addr(address.host.c_str(), address.port, &out) != 0) {
    return Status::InvalidArgument("'" + address.ToString() + "' is not an IPv4 address");
  }
  return out;
}

NetAddress FromSockaddr(const sockaddr* address) {
  if (address == nullptr || address->sa_family != AF_INET) return {};
  sockaddr_in in{};
  std::memcpy(&in, address, sizeof(in));
  char host[INET_ADDRSTRLEN] = {};
  uv_ip4_name(&in, host, sizeof(host));
  return NetAddress{host, ntohs(in.sin_port)};
}

void AllocateReadBuffer(uv_handle_t* handle, size_t, uv_buf_t* buffer) {
  *buffer = uv_buf_init(Loop::Of(handle).ReadBuffer(), Loop::kReadBufferBytes);
}

}  // namespace uv_internal

UvEnv::UvEnv() : loop_(std::make_unique<uv_internal::Loop>()) {}
UvEnv::~UvEnv() = default;

void UvEnv::Run() { loop_->Run(); }
bool UvEnv::RunUntil(const std::function<bool()>& done, Duration timeout) { return loop_->RunUntil(done, timeout); }
void UvEnv::Stop() { loop_->Stop(); }

MonoTime UvEnv::Now() { return loop_->Now(); }

int64_t UvEnv::WallMillis() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count();
}

TimerId UvEnv::StartTimer(Duration delay, std::function<void()> fn) { return loop_->StartTimer(delay, std::move(fn)); }
bool UvEnv::CancelTimer(TimerId id) { return loop_->CancelTimer(id); }

uint64_t UvEnv::RandomSeed() {
  uint64_t seed = 0;
  auto* bytes = reinterpret_cast<char*>(&seed);
  size_t filled = 0;
  while (filled < sizeof(seed)) {
    const ssize_t got = getrandom(bytes + filled, sizeof(seed) - filled, 0);
    if (got < 0 && errno == EINTR) continue;
    CAIRN_ASSERT(got > 0, std::string("getrandom failed: ") + std::strerror(errno));
    filled += static_cast<size_t>(got);
  }
  return seed;
}

Result<std::unique_ptr<WritableFile>> UvEnv::NewWritableFile(const std::string& path) {
  return uv_internal::OpenWritableFile(path, /*append=*/false);
}
Result<std::unique_ptr<WritableFile>> UvEnv::NewAppendableFile(const std::string& path) {
  return uv_internal::OpenWritableFile(path, /*append=*/true);
}
Result<std::string> UvEnv::ReadFile(const std::string& path) { return uv_internal::ReadWholeFile(path); }
Status UvEnv::RenameFile(const std::string& from, const std::string& to) { return uv_internal::RenamePath(from, to); }
Status UvEnv::RemoveFile(const std::string& path) { return uv_internal::RemovePath(path); }
Status UvEnv::CreateDir(const std::string& path) { return uv_internal::CreateDirectories(path); }
Status UvEnv::SyncDir(const std::string& path) { return uv_internal::SyncDirectory(path); }
Result<std::vector<std::string>> UvEnv::ListDir(const std::string& path) { return uv_internal::ListDirectory(path); }
bool UvEnv::FileExists(const std::string& path) { return uv_internal::PathExists(path); }

Result<std::unique_ptr<UdpSocket>> UvEnv::OpenUdp(const NetAddress& bind, UdpReceiveFn on_receive) {
  return uv_internal::OpenUdpSocket(*loop_, bind, std::move(on_receive));
}
Result<std::unique_ptr<TcpListener>> UvEnv::ListenTcp(const NetAddress& bind, TcpAcceptFn on_accept) {
  return uv_internal::ListenTcpSocket(*loop_, bind, std::move(on_accept));
}
void UvEnv::ConnectTcp(const NetAddress& to, TcpConnectFn on_done) {
  uv_internal::ConnectTcpSocket(*loop_, to, std::move(on_done));
}

Status UvEnv::Post(std::function<void()> fn) { return loop_->Post(std::move(fn)); }

}  // namespace cairn
