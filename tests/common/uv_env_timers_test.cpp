#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "common/uv_env.h"

namespace cairn {
namespace {

using std::chrono::milliseconds;
constexpr Duration kWaitMax = std::chrono::seconds(10);

TEST_SUITE("common.uv_timers") {
  TEST_CASE("clocks move forward and seeds differ") {
    UvEnv env;
    const MonoTime a = env.Now();
    const MonoTime b = env.Now();
    CHECK(b >= a);
    CHECK(env.WallMillis() > 1'600'000'000'000);  // after 2020
    CHECK(env.RandomSeed() != env.RandomSeed());
  }

  TEST_CASE("timers fire in deadline order, each after at least its delay") {
    UvEnv env;
    struct Fired {
      int label;
      Duration waited;
    };
    std::vector<Fired> fired;
    const MonoTime start = env.Now();
    for (int label : {30, 10, 20, 0}) {
      env.StartTimer(milliseconds(label), [&, label] { fired.push_back({label, env.Now() - start}); });
    }
    REQUIRE(env.RunUntil([&] { return fired.size() == 4; }, kWaitMax));
    for (size_t i = 0; i < fired.size(); ++i) {
      CAPTURE(i);
      CHECK(fired[i].label == static_cast<int>(i) * 10);
      CHECK(fired[i].waited >= milliseconds(fired[i].label));
    }
  }

  TEST_CASE("equal deadlines fire in start order; ids are nonzero and never reused") {
    UvEnv env;
    std::vector<int> order;
    std::vector<TimerId> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(env.StartTimer(Duration::zero(), [&order, i] { order.push_back(i); }));
    for (size_t i = 0; i < ids.size(); ++i) {
      CHECK(ids[i] != 0);
      if (i > 0) CHECK(ids[i] > ids[i - 1]);
    }
    REQUIRE(env.RunUntil([&] { return order.size() == 50; }, kWaitMax));
    for (int i = 0; i < 50; ++i) CHECK(order[static_cast<size_t>(i)] == i);
    CHECK(env.StartTimer(Duration::zero(), [] {}) > ids.back());
  }

  TEST_CASE("a cancelled timer never runs and cancel reports whether it was pending") {
    UvEnv env;
    bool cancelled_ran = false;
    bool kept_ran = false;
    const TimerId cancelled = env.StartTimer(milliseconds(5), [&] { cancelled_ran = true; });
    const TimerId kept = env.StartTimer(milliseconds(20), [&] { kept_ran = true; });
    CHECK(env.CancelTimer(cancelled));
    CHECK_FALSE(env.CancelTimer(cancelled));
    REQUIRE(env.RunUntil([&] { return kept_ran; }, kWaitMax));
    CHECK_FALSE(cancelled_ran);
    CHECK_FALSE(env.CancelTimer(kept));  // already ran
    CHECK_FALSE(env.CancelTimer(0));
    bool forever_ran = false;
    const TimerId forever = env.StartTimer(Duration::max(), [&] { forever_ran = true; });
    env.RunUntil([] { return false; }, milliseconds(5));
    CHECK_FALSE(forever_ran);  // a huge delay must not wrap around into the past
    CHECK(env.CancelTimer(forever));
    CHECK_FALSE(env.CancelTimer(12345));
  }

  TEST_CASE("a callback can cancel itself, a due sibling and a later timer") {
    UvEnv env;
    bool sibling_ran = false;
    bool later_ran = false;
    bool self_cancel_result = true;
    bool sibling_cancel_result = false;
    bool later_cancel_result = false;
    TimerId self = 0;
    TimerId sibling = 0;
    TimerId later = 0;
    bool first_ran = false;
    self = env.StartTimer(milliseconds(5), [&] {
      first_ran = true;
      self_cancel_result = env.CancelTimer(self);
      sibling_cancel_result = env.CancelTimer(sibling);
      later_cancel_result = env.CancelTimer(later);
    });
    sibling = env.StartTimer(milliseconds(5), [&] { sibling_ran = true; });
    later = env.StartTimer(milliseconds(30), [&] { later_ran = true; });
    bool sentinel = false;
    env.StartTimer(milliseconds(60), [&] { sentinel = true; });
    REQUIRE(env.RunUntil([&] { return sentinel; }, kWaitMax));
    CHECK(first_ran);
    CHECK_FALSE(self_cancel_result);
    CHECK(sibling_cancel_result);
    CHECK(later_cancel_result);
    CHECK_FALSE(sibling_ran);
    CHECK_FALSE(later_ran);
  }

  TEST_CASE("a timer started from a callback runs later, never inside it") {
    UvEnv env;
    int depth = 0;
    int chain = 0;
    bool nested = false;
    std::function<void()> step = [&] {
      nested = nested || depth > 0;
      ++depth;
      if (++chain < 100) env.StartTimer(Duration::zero(), step);
      --depth;
    };
    env.StartTimer(Duration::zero(), step);
    REQUIRE(env.RunUntil([&] { return chain == 100; }, kWaitMax));
    CHECK_FALSE(nested);
  }

  TEST_CASE("RunUntil returns as soon as a timer makes its condition true") {
    UvEnv env;
    for (int round = 0; round < 20; ++round) {
      bool fired = false;
      env.StartTimer(Duration::zero(), [&] { fired = true; });
      const MonoTime start = env.Now();
      REQUIRE(env.RunUntil([&] { return fired; }, std::chrono::seconds(10)));
      CHECK(env.Now() - start < std::chrono::seconds(1));  // not held until the timeout
    }
  }

  TEST_CASE("RunUntil gives up after its timeout and Stop ends Run") {
    UvEnv env;
    const MonoTime start = env.Now();
    CHECK_FALSE(env.RunUntil([] { return false; }, milliseconds(20)));
    CHECK(env.Now() - start >= milliseconds(20));
    bool ran = false;
    env.StartTimer(milliseconds(5), [&] { env.Stop(); });
    env.StartTimer(milliseconds(10), [&] { ran = true; });
    env.Run();  // returns because of Stop(); a hang here fails through the CTest timeout
    CHECK_FALSE(ran);
    env.Run();  // Stop() is final: returns at once
    CHECK_FALSE(env.RunUntil([&] { return ran; }, kWaitMax));
  }

  TEST_CASE("pending timers are dropped when the env is destroyed") {
    bool ran = false;
    {
      UvEnv env;
      env.StartTimer(Duration::zero(), [&] { ran = true; });
    }
    CHECK_FALSE(ran);
  }
}

}  // namespace
}  // namespace cairn
