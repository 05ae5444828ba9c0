// Calls from other threads (the HTTP workers) into the agent's loop thread.
//
// Everything the agent owns lives on one Env loop thread. A worker thread that needs it posts
// a function to the loop and waits, bounded by a timeout, for the function's completion
// callback. The callback may run later (after a Raft commit, say) and at most once counts: a
// completion that arrives after the caller gave up is dropped, and the shared state keeps it
// from touching freed memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "common/env.h"
#include "common/status.h"

namespace cairn::agent {

// A one-shot slot that a loop callback fills and a worker thread waits on.
template <typename T>
class Completion {
 public:
  void Set(T value) {
    std::lock_guard<std::mutex> lock(mu_);
    if (value_) return;
    value_.emplace(std::move(value));
    cv_.notify_all();
  }
  // The value, or nullopt once `deadline` passes.
  std::optional<T> WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return value_.has_value(); });
    return std::move(value_);
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<T> value_;
};

// Runs `start(done)` on the loop and waits for `done(result)` for at most `timeout`.
// kUnavailable when the loop no longer takes work (the agent is shutting down), kTimeout when
// the completion did not come in time (the work may still happen).
template <typename T>
Result<T> CallOnLoop(Env& env, std::chrono::milliseconds timeout,
                     std::function<void(std::function<void(Result<T>)>)> start) {
  auto completion = std::make_shared<Completion<Result<T>>>();
  Status posted = env.Post([completion, start = std::move(start)] {
    start([completion](Result<T> result) { completion->Set(std::move(result)); });
  });
  if (!posted.IsOk()) return Status::Unavailable("the agent is shutting down");
  std::optional<Result<T>> result = completion->WaitUntil(std::chrono::steady_clock::now() + timeout);
  if (!result) return Status::Timeout("no answer from the agent within " + std::to_string(timeout.count()) + " ms");
  return std::move(*result);
}

}  // namespace cairn::agent
