// UvEnv: the real Env, built on one libuv event loop.
//
// The loop runs on whichever thread calls Run() or RunUntil(); that thread is the env's loop
// thread in the sense of env.h. Timers, sockets and cross-thread posts are libuv handles on the
// loop; files use plain synchronous POSIX calls (see env.h: they may block the caller).
//
// Lifetime: every socket, listener and stream an env hands out must be destroyed before the env
// (checked by an assertion in the destructor). The destructor closes the env's remaining
// handles, runs the loop until every close has completed, and drops pending timers, posts and
// connects without running them: no callback runs once destruction has begun.
#pragma once

#include <functional>
#include <memory>

#include "common/env.h"

namespace cairn {
namespace uv_internal {
class Loop;
}  // namespace uv_internal

class UvEnv final : public Env {
 public:
  UvEnv();
  ~UvEnv() override;
  UvEnv(const UvEnv&) = delete;
  UvEnv& operator=(const UvEnv&) = delete;

  // Runs the loop on the calling thread until Stop(). Returns at once if Stop() was called.
  void Run();
  // Runs the loop until `done()` holds (checked before every wait for events and after it),
  // `timeout` passes, or Stop() is called; returns done(). For tests and tools that wait for one
  // outcome. Neither Run() nor RunUntil() may be called from inside a callback.
  bool RunUntil(const std::function<bool()>& done, Duration timeout);
  // Makes Run() or RunUntil() return once the running callback finishes. Final: the loop does
  // not run again, and Post() fails with kUnavailable from now on. Loop thread only; another
  // thread stops the loop by posting a call to Stop().
  void Stop();

  MonoTime Now() override;
  int64_t WallMillis() override;
  TimerId StartTimer(Duration delay, std::function<void()> fn) override;
  bool CancelTimer(TimerId id) override;

  uint64_t RandomSeed() override;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool FileExists(const std::string& path) override;

  Result<std::unique_ptr<UdpSocket>> OpenUdp(const NetAddress& bind, UdpReceiveFn on_receive) override;
  Result<std::unique_ptr<TcpListener>> ListenTcp(const NetAddress& bind, TcpAcceptFn on_accept) override;
  void ConnectTcp(const NetAddress& to, TcpConnectFn on_done) override;

  Status Post(std::function<void()> fn) override;

 private:
  std::unique_ptr<uv_internal::Loop> loop_;
};

}  // namespace cairn
