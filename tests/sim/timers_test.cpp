#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/sim/seeds.h"
#include "tests/sim/simulator.h"

namespace cairn::sim {
namespace {

using std::chrono::milliseconds;

TEST_SUITE("sim.timers") {
  TEST_CASE("timers fire in due order, equal times in the order they were started") {
    Simulator sim(1);
    SimEnv& env = sim.AddNode("10.0.0.1");
    const MonoTime start = sim.Now();
    std::vector<std::string> fired;
    std::vector<MonoTime> fired_at;
    auto record = [&](std::string name) {
      return [&, name] {
        fired.push_back(name);
        fired_at.push_back(env.Now());
      };
    };
    env.StartTimer(milliseconds(30), record("c"));
    env.StartTimer(milliseconds(10), record("a1"));
    env.StartTimer(milliseconds(10), record("a2"));
    env.StartTimer(milliseconds(20), record("b"));
    env.StartTimer(milliseconds(10), record("a3"));
    sim.RunFor(milliseconds(100));
    CHECK(fired == std::vector<std::string>{"a1", "a2", "a3", "b", "c"});
    REQUIRE(fired_at.size() == 5);
    CHECK(fired_at[0] == start + milliseconds(10));
    CHECK(fired_at[3] == start + milliseconds(20));
    CHECK(fired_at[4] == start + milliseconds(30));
    CHECK(sim.Now() == start + milliseconds(100));
  }

  TEST_CASE("a timer never runs inside the call that starts it, even with zero delay") {
    Simulator sim(2);
    SimEnv& env = sim.AddNode("10.0.0.1");
    int runs = 0;
    env.StartTimer(Duration::zero(), [&] { ++runs; });
    env.StartTimer(milliseconds(-5), [&] { ++runs; });  // negative means "now"
    CHECK(runs == 0);
    CHECK(sim.RunOne());
    CHECK(runs == 1);
    CHECK(sim.RunOne());
    CHECK(runs == 2);
    CHECK_FALSE(sim.RunOne());
  }

  TEST_CASE("cancel stops a pending timer and reports whether it did") {
    Simulator sim(3);
    SimEnv& env = sim.AddNode("10.0.0.1");
    int a = 0, b = 0;
    const TimerId id_a = env.StartTimer(milliseconds(5), [&] { ++a; });
    const TimerId id_b = env.StartTimer(milliseconds(5), [&] { ++b; });
    CHECK(id_a != 0);
    CHECK(id_a != id_b);
    CHECK(env.CancelTimer(id_a));
    CHECK_FALSE(env.CancelTimer(id_a));
    sim.RunFor(milliseconds(10));
    CHECK(a == 0);
    CHECK(b == 1);
    CHECK_FALSE(env.CancelTimer(id_b));  // already ran
    CHECK_FALSE(env.CancelTimer(12345678));
  }

  TEST_CASE("a timer may cancel another timer due at the same instant") {
    Simulator sim(4);
    SimEnv& env = sim.AddNode("10.0.0.1");
    int second_runs = 0;
    TimerId second = 0;
    env.StartTimer(milliseconds(1), [&] { CHECK(env.CancelTimer(second)); });
    second = env.StartTimer(milliseconds(1), [&] { ++second_runs; });
    sim.RunFor(milliseconds(5));
    CHECK(second_runs == 0);
  }

  TEST_CASE("crash cancels timers and posts and silences every callback of the old incarnation") {
    Simulator sim(5);
    SimEnv& a = sim.AddNode("10.0.0.1");
    SimEnv& b = sim.AddNode("10.0.0.2");
    int timer_runs = 0, post_runs = 0, udp_received = 0, other_host_runs = 0;
    const TimerId doomed = a.StartTimer(milliseconds(10), [&] { ++timer_runs; });
    a.StartTimer(milliseconds(20), [&] { ++timer_runs; });
    REQUIRE(a.Post([&] { ++post_runs; }).IsOk());
    b.StartTimer(milliseconds(10), [&] { ++other_host_runs; });
    auto socket = a.OpenUdp(NetAddress{"10.0.0.1", 9000}, [&](const NetAddress&, std::string_view) { ++udp_received; });
    REQUIRE(socket.IsOk());
    auto sender = b.OpenUdp(NetAddress{"10.0.0.2", 0}, [](const NetAddress&, std::string_view) {});
    REQUIRE(sender.IsOk());
    REQUIRE((*sender)->SendTo(NetAddress{"10.0.0.1", 9000}, "hello").IsOk());

    sim.Crash("10.0.0.1");
    CHECK_FALSE(a.IsUp());
    sim.RunFor(milliseconds(50));
    CHECK(timer_runs == 0);
    CHECK(post_runs == 0);
    CHECK(udp_received == 0);
    CHECK(other_host_runs == 1);
    CHECK_FALSE(a.CancelTimer(doomed));
    // A down host's code is dead: new timers never fire and posts are refused.
    int while_down = 0;
    a.StartTimer(milliseconds(1), [&] { ++while_down; });
    CHECK(a.Post([&] { ++while_down; }).Code() == StatusCode::kUnavailable);

    sim.Restart("10.0.0.1");
    CHECK(a.IsUp());
    sim.RunFor(milliseconds(50));
    CHECK(while_down == 0);
    CHECK((*socket)->SendTo(NetAddress{"10.0.0.2", 1}, "x").Code() == StatusCode::kUnavailable);
    socket = Status::Aborted("drop the dead socket");  // destroying a dead handle is harmless

    int after_restart = 0;
    a.StartTimer(milliseconds(1), [&] { ++after_restart; });
    sim.RunFor(milliseconds(5));
    CHECK(after_restart == 1);
    CHECK(timer_runs == 0);
  }

  TEST_CASE("post runs on the loop at the current time, after what is already due") {
    Simulator sim(6);
    SimEnv& env = sim.AddNode("10.0.0.1");
    std::vector<int> order;
    env.StartTimer(Duration::zero(), [&] { order.push_back(1); });
    REQUIRE(env.Post([&] {
                 order.push_back(2);
                 CHECK(env.Post([&] { order.push_back(3); }).IsOk());
                 CHECK(order.size() == 2);  // not re-entrant
               })
                .IsOk());
    CHECK(order.empty());
    const MonoTime before = sim.Now();
    sim.RunFor(Duration::zero());
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(sim.Now() == before);
  }

  TEST_CASE("RunUntilTrue stops at the first event that satisfies it, or at the limit") {
    Simulator sim(7);
    SimEnv& env = sim.AddNode("10.0.0.1");
    int ticks = 0;
    std::function<void()> tick = [&] {
      ++ticks;
      env.StartTimer(milliseconds(10), tick);
    };
    env.StartTimer(milliseconds(10), tick);
    const MonoTime start = sim.Now();
    CHECK(sim.RunUntilTrue([&] { return ticks == 3; }, milliseconds(1000)));
    CHECK(sim.Now() == start + milliseconds(30));
    CHECK_FALSE(sim.RunUntilTrue([&] { return ticks == 1000; }, milliseconds(55)));
    CHECK(ticks == 8);
    CHECK(sim.Now() == start + milliseconds(85));
  }

  TEST_CASE("wall clock and random seeds come from the simulation") {
    Simulator sim(8);
    SimEnv& a = sim.AddNode("10.0.0.1");
    SimEnv& b = sim.AddNode("10.0.0.2");
    const int64_t wall = a.WallMillis();
    CHECK(wall == 1767225600000);
    sim.RunFor(milliseconds(1500));
    CHECK(a.WallMillis() == wall + 1500);
    const uint64_t a_seed = a.RandomSeed();
    CHECK(a_seed != b.RandomSeed());
    CHECK(a_seed != a.RandomSeed());

    Simulator again(8);
    SimEnv& a2 = again.AddNode("10.0.0.1");
    again.AddNode("10.0.0.2");
    CHECK(a2.RandomSeed() == a_seed);
    Simulator other(9);
    CHECK(other.AddNode("10.0.0.1").RandomSeed() != a_seed);
  }

  TEST_CASE("events on different hosts interleave by time across many seeds") {
    for (uint64_t seed : TestSeeds(20)) {
      Simulator sim(seed);
      INFO(sim.ReproHint(kSimTestBinary, "events on different hosts interleave by time across many seeds"));
      std::vector<MonoTime> seen;
      for (int h = 1; h <= 3; ++h) {
        SimEnv& env = sim.AddNode("10.0.0." + std::to_string(h));
        Prng prng(env.RandomSeed());
        for (int i = 0; i < 20; ++i) {
          env.StartTimer(milliseconds(prng.Between(0, 100)), [&seen, &env] { seen.push_back(env.Now()); });
        }
      }
      sim.RunFor(milliseconds(200));
      REQUIRE(seen.size() == 60);
      CHECK(std::is_sorted(seen.begin(), seen.end()));
    }
  }
}

}  // namespace
}  // namespace cairn::sim
