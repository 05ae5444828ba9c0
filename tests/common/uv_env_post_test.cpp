#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/limits.h"
#include "common/uv_env.h"

namespace cairn {
namespace {

constexpr Duration kWaitMax = std::chrono::seconds(30);

TEST_SUITE("common.uv_post") {
  TEST_CASE("posts from four threads each run exactly once, on the loop thread") {
    constexpr int kThreads = 4;
    constexpr int kPostsPerThread = 20000;
    UvEnv env;
    const std::thread::id loop_thread = std::this_thread::get_id();
    // Touched only on the loop thread; a post running elsewhere would be a data race (TSan).
    std::vector<std::vector<int>> runs(kThreads, std::vector<int>(kPostsPerThread, 0));
    int total = 0;
    int off_loop = 0;
    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPostsPerThread; ++i) {
          const Status posted = env.Post([&, t, i] {
            ++runs[static_cast<size_t>(t)][static_cast<size_t>(i)];
            ++total;
            if (std::this_thread::get_id() != loop_thread) ++off_loop;
          });
          if (!posted.IsOk()) ++refused;
        }
      });
    }
    const bool all_ran = env.RunUntil([&] { return total == kThreads * kPostsPerThread; }, kWaitMax);
    for (std::thread& thread : threads) thread.join();
    REQUIRE(all_ran);
    CHECK(refused.load() == 0);
    CHECK(off_loop == 0);
    env.RunUntil([] { return false; }, std::chrono::milliseconds(20));
    CHECK(total == kThreads * kPostsPerThread);
    int wrong = 0;
    for (const auto& per_thread : runs) {
      for (int count : per_thread) wrong += count != 1;
    }
    CHECK(wrong == 0);
  }

  TEST_CASE("a post never runs inside Post(), even on the loop thread") {
    UvEnv env;
    bool ran = false;
    bool ran_inside = false;
    env.StartTimer(Duration::zero(), [&] {
      CHECK(env.Post([&] { ran = true; }).IsOk());
      ran_inside = ran;
    });
    REQUIRE(env.RunUntil([&] { return ran; }, kWaitMax));
    CHECK_FALSE(ran_inside);
  }

  TEST_CASE("another thread stops Run() through Post; later posts are refused") {
    UvEnv env;
    bool watchdog_fired = false;
    env.StartTimer(std::chrono::seconds(20), [&] {
      watchdog_fired = true;
      env.Stop();
    });
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      CHECK(env.Post([&] { env.Stop(); }).IsOk());
    });
    env.Run();
    stopper.join();
    CHECK_FALSE(watchdog_fired);
    bool ran = false;
    const Status after = env.Post([&] { ran = true; });
    CHECK(after.Code() == StatusCode::kUnavailable);
    std::thread other([&] { CHECK(env.Post([] {}).Code() == StatusCode::kUnavailable); });
    other.join();
    CHECK_FALSE(ran);
  }

  TEST_CASE("the post queue is bounded by loop_post_queue_max") {
    UvEnv env;
    int ran = 0;
    for (size_t i = 0; i < limits::kLoopPostQueueMax; ++i) {
      const Status posted = env.Post([&ran] { ++ran; });
      if (!posted.IsOk()) {
        FAIL("post " << i << " refused: " << posted.ToString());
      }
    }
    const Status full = env.Post([] {});
    CHECK(full.Code() == StatusCode::kResourceExhausted);
    CHECK(full.Message().find("loop_post_queue_max") != std::string::npos);
    REQUIRE(env.RunUntil([&] { return ran == static_cast<int>(limits::kLoopPostQueueMax); }, kWaitMax));
    CHECK(env.Post([] {}).IsOk());  // room again once drained
  }

  TEST_CASE("posts still queued when the env is destroyed are dropped, not run") {
    bool ran = false;
    {
      UvEnv env;
      CHECK(env.Post([&] { ran = true; }).IsOk());
    }
    CHECK_FALSE(ran);
  }
}

}  // namespace
}  // namespace cairn
