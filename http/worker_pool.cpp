#include "http/worker_pool.h"

#include <algorithm>

#include "common/thread_name.h"

namespace cairn::http {

WorkerPool::WorkerPool(size_t threads_max, std::chrono::milliseconds idle_exit)
    : threads_max_(std::max<size_t>(1, threads_max)), idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() { Stop(); }

bool WorkerPool::Submit(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  JoinEnded();
  queue_.push_back(std::move(task));
  // Every queued task beyond the idle threads' count gets a thread of its own while the pool
  // may grow: a task never waits behind a blocking one when a thread could still be added.
  if (queue_.size() > idle_ && threads_.size() < threads_max_) {
    const uint64_t id = next_id_++;
    threads_.emplace(id, std::thread([this, id] {
                       NameThisThread("cairn-http-work");
                       Run(id);
                     }));
  } else {
    wake_.notify_one();
  }
  return true;
}

void WorkerPool::Run(uint64_t id) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_;
    const bool ready = wake_.wait_for(lock, idle_exit_, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) return;
    if (!ready) {
      // Idle too long: hand this thread's handle over to be joined, and end.
      auto self = threads_.find(id);
      ended_.push_back(std::move(self->second));
      threads_.erase(self);
      return;
    }
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // release what the task holds before waiting again
    lock.lock();
  }
}

void WorkerPool::JoinEnded() {
  for (std::thread& thread : ended_) thread.join();
  ended_.clear();
}

void WorkerPool::Stop() {
  std::map<uint64_t, std::thread> threads;
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
    threads.swap(threads_);
    ended.swap(ended_);
  }
  wake_.notify_all();
  for (auto& [id, thread] : threads) thread.join();
  for (std::thread& thread : ended) thread.join();
}

size_t WorkerPool::Threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

}  // namespace cairn::http
