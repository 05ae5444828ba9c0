// gossip.host: GossipHost on the real libuv Env over loopback sockets.
#include "agent/gossip/gossip_host.h"

#include <doctest/doctest.h>

#include <map>

#include "common/uv_env.h"

namespace cairn::gossip {
namespace {

using namespace std::chrono_literals;

GossipHostConfig FastConfig(const std::string& name, uint64_t seed) {
  GossipHostConfig c;
  c.swim.name = name;
  c.swim.address = NetAddress{"127.0.0.1", 0};
  c.swim.seed = seed;
  c.swim.probe_interval = 200ms;
  c.swim.probe_timeout = 100ms;
  c.swim.gossip_interval = 50ms;
  c.tick_interval = 20ms;
  c.join_retry_interval = 200ms;
  return c;
}

}  // namespace

TEST_SUITE("gossip.host") {
  TEST_CASE("three hosts on real loopback sockets join, see a leave, and report events") {
    UvEnv env;
    std::map<std::string, std::vector<MemberEvent>> events;
    std::vector<std::unique_ptr<GossipHost>> hosts;
    for (int i = 0; i < 3; ++i) {
      const std::string name = "uv-" + std::to_string(i);
      auto h = GossipHost::Start(env, FastConfig(name, 100 + i),
                                 [&, name](const MemberEvent& e) { events[name].push_back(e); });
      REQUIRE_MESSAGE(h.IsOk(), h.GetStatus().ToString());
      CHECK(h.Value()->Core().Self().address.port != 0);
      hosts.push_back(std::move(h.Value()));
    }
    const NetAddress seed = hosts[0]->Core().Self().address;
    for (int i = 1; i < 3; ++i) REQUIRE(hosts[i]->Join({seed}).IsOk());
    const bool joined = env.RunUntil(
        [&] {
          for (auto& h : hosts)
            if (h->Core().AliveCount() != 3) return false;
          return true;
        },
        10s);
    REQUIRE(joined);
    CHECK(events["uv-0"].size() >= 2);

    hosts[2]->Leave();
    const bool left = env.RunUntil(
        [&] {
          for (int i = 0; i < 2; ++i) {
            const Member* m = hosts[i]->Core().Find("uv-2");
            if (m == nullptr || m->state != MemberState::kLeft) return false;
          }
          return true;
        },
        10s);
    CHECK(left);
    bool saw_left = false;
    for (const MemberEvent& e : events["uv-1"]) saw_left |= (e.kind == EventKind::kLeft && e.member.name == "uv-2");
    CHECK(saw_left);
    CHECK(hosts[0]->Core().Stats().packets_rejected == 0);
  }

  TEST_CASE("a host refuses an invalid configuration with a clear error") {
    UvEnv env;
    GossipHostConfig c = FastConfig("bad", 1);
    c.swim.meta.datacenter = std::string(kMetaFieldBytesMax + 1, 'd');
    auto h = GossipHost::Start(env, c, nullptr);
    CHECK(h.GetStatus().Message().find("kMetaFieldBytesMax") != std::string::npos);
    c = FastConfig("bad", 1);
    c.tick_interval = Duration::zero();
    CHECK_FALSE(GossipHost::Start(env, c, nullptr).IsOk());
  }
}

}  // namespace cairn::gossip
