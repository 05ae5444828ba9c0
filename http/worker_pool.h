// WorkerPool: threads that run the HTTP handlers, which may block (a Raft commit, a blocking
// query), away from the server's event loop.
//
// The pool starts empty and adds a thread whenever a task arrives and no thread is free, up to
// `threads_max`; threads then stay for the life of the pool (an idle thread costs a few pages
// of stack). Submit never blocks: the queue is bounded by its callers (the server queues at
// most one request per connection).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cairn::http {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads_max);
  ~WorkerPool();  // Stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false once the pool is stopping (the task is dropped).
  bool Submit(std::function<void()> task);
  // Drops the tasks not yet started, waits for the running ones and joins every thread.
  // Idempotent.
  void Stop();
  size_t Threads() const;

 private:
  void Run();

  const size_t threads_max_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace cairn::http
