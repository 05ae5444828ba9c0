// WorkerPool: threads that run the HTTP handlers, which may block (a Raft commit, say), away
// from the server's event loop.
//
// The pool starts empty and adds a thread whenever a task arrives and no thread is free, up to
// `threads_max`; a thread idle for `idle_exit` ends, so a burst leaves no threads behind. Submit
// never blocks: the queue is bounded by its callers (the server queues at most one request per
// connection).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn::http {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads_max, std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~WorkerPool();  // Stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false once the pool is stopping (the task is dropped).
  bool Submit(std::function<void()> task);
  // Drops the tasks not yet started, waits for the running ones and joins every thread.
  // Idempotent.
  void Stop();
  // Threads alive now.
  size_t Threads() const;

 private:
  void Run(uint64_t id);
  // Joins threads that have ended. Called with mu_ held; they no longer take it.
  void JoinEnded();

  const size_t threads_max_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::map<uint64_t, std::thread> threads_;
  std::vector<std::thread> ended_;  // threads that have left Run, to be joined
  uint64_t next_id_ = 0;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace cairn::http
