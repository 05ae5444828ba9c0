#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/uv_env.h"
#include "server/raft/peer_transport.h"
#include "tests/sim/seeds.h"
#include "tests/sim/simulator.h"

namespace cairn::raft {
namespace {

using namespace std::chrono_literals;

constexpr uint16_t kPort = 7300;
constexpr const char* kBinary = "tests/server/cairn_test_raft_transport";

struct Received {
  NodeId from;
  std::string message;
};

// One server's transport on one simulated host, with everything it received.
struct Node {
  Node(sim::SimEnv& env, NodeId id, PeerTransportOptions options = {})
      : logger("n" + std::to_string(id.value), [] { return 0.0; }, [](std::string_view) {}),
        transport(env, id, logger, [this](NodeId from, std::string_view m) { received.push_back({from, std::string(m)}); },
                  options) {}
  Logger logger;
  std::vector<Received> received;
  PeerTransport transport;
};

std::string Host(uint64_t id) { return "10.0.0." + std::to_string(id); }

// A full mesh of `count` transports on a fresh simulator.
struct Cluster {
  explicit Cluster(uint64_t seed, uint64_t count = 3, PeerTransportOptions options = {}) : sim(seed) {
    for (uint64_t id = 1; id <= count; ++id) sim.AddNode(Host(id));
    for (uint64_t id = 1; id <= count; ++id) Start(id, options);
  }
  void Start(uint64_t id, PeerTransportOptions options = {}) {
    nodes[id] = std::make_unique<Node>(sim.Node(Host(id)), NodeId(id), options);
    REQUIRE(nodes[id]->transport.Listen(NetAddress{Host(id), kPort}).IsOk());
    for (auto& [peer, node] : nodes) {
      if (peer == id) continue;
      nodes[id]->transport.SetPeer(NodeId(peer), NetAddress{Host(peer), kPort});
      node->transport.SetPeer(NodeId(id), NetAddress{Host(id), kPort});
    }
  }
  bool AllConnected() {
    for (auto& [id, node] : nodes) {
      for (auto& [peer, other] : nodes) {
        if (peer != id && !node->transport.IsConnected(NodeId(peer))) return false;
      }
    }
    return true;
  }
  sim::Simulator sim;
  std::map<uint64_t, std::unique_ptr<Node>> nodes;
};

TEST_SUITE("raft.transport") {
  TEST_CASE("a full mesh connects once per pair and delivers messages with their sender") {
    for (uint64_t seed : sim::TestSeeds(50)) {
      Cluster c(seed);
      INFO(c.sim.ReproHint(kBinary, "a full mesh connects once per pair and delivers messages with their sender"));
      REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 5s));
      CHECK(c.sim.OpenTcpConnections() == 3);
      for (auto& [id, node] : c.nodes) {
        for (uint64_t to = 1; to <= 3; ++to) {
          if (to != id) CHECK(node->transport.Send(NodeId(to), "from " + std::to_string(id)));
        }
      }
      c.sim.RunFor(100ms);
      for (auto& [id, node] : c.nodes) {
        REQUIRE(node->received.size() == 2);
        for (const Received& r : node->received) CHECK(r.message == "from " + std::to_string(r.from.value));
      }
    }
  }

  TEST_CASE("messages sent in one loop iteration leave in one write, in order") {
    Cluster c(1);
    REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 5s));
    const uint64_t writes_before = c.nodes[1]->transport.Stats().socket_writes;
    for (int i = 0; i < 100; ++i) REQUIRE(c.nodes[1]->transport.Send(NodeId(2), "m" + std::to_string(i)));
    c.sim.RunFor(100ms);
    CHECK(c.nodes[1]->transport.Stats().socket_writes == writes_before + 1);
    REQUIRE(c.nodes[2]->received.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(c.nodes[2]->received[i].message == "m" + std::to_string(i));
  }

  TEST_CASE("a partition drops traffic and the pair reconnects after it heals") {
    for (uint64_t seed : sim::TestSeeds(20)) {
      Cluster c(seed);
      INFO(c.sim.ReproHint(kBinary, "a partition drops traffic and the pair reconnects after it heals"));
      REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 5s));
      c.sim.Partition({Host(1)}, {Host(2), Host(3)});
      c.sim.RunFor(1s);
      CHECK_FALSE(c.nodes[1]->transport.IsConnected(NodeId(2)));
      CHECK_FALSE(c.nodes[3]->transport.Send(NodeId(1), "lost"));
      CHECK(c.nodes[2]->transport.IsConnected(NodeId(3)));
      c.sim.HealAll();
      REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 10s));
      CHECK(c.nodes[3]->transport.Send(NodeId(1), "after heal"));
      c.sim.RunFor(100ms);
      REQUIRE_FALSE(c.nodes[1]->received.empty());
      CHECK(c.nodes[1]->received.back().message == "after heal");
      for (const Received& r : c.nodes[1]->received) CHECK(r.message != "lost");
    }
  }

  TEST_CASE("a restarted server is reconnected and replaces its old connection") {
    Cluster c(3);
    REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 5s));
    c.sim.Crash(Host(1));
    c.nodes.erase(1);
    c.sim.RunFor(500ms);
    c.sim.Restart(Host(1));
    c.Start(1);
    REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 10s));
    CHECK(c.sim.OpenTcpConnections() == 3);
    CHECK(c.nodes[3]->transport.Send(NodeId(1), "welcome back"));
    c.sim.RunFor(100ms);
    REQUIRE(c.nodes[1]->received.size() == 1);
    CHECK(c.nodes[1]->received[0].from == NodeId(3));
  }

  TEST_CASE("a dial that reaches the wrong server is refused by its hello") {
    sim::Simulator sim(4);
    sim.AddNode(Host(1));
    sim.AddNode(Host(3));
    Node one(sim.Node(Host(1)), NodeId(1));
    Node three(sim.Node(Host(3)), NodeId(3));
    REQUIRE(three.transport.Listen(NetAddress{Host(3), kPort}).IsOk());
    one.transport.SetPeer(NodeId(2), NetAddress{Host(3), kPort});  // wrong address for node 2
    three.transport.SetPeer(NodeId(1), NetAddress{Host(1), kPort});
    sim.RunFor(2s);
    CHECK_FALSE(three.transport.IsConnected(NodeId(1)));
    CHECK(three.transport.Stats().connection_errors > 0);
    // Node 1 believes it may be connected to node 2; whatever it sends must not reach node 3.
    (void)one.transport.Send(NodeId(2), "misrouted");
    sim.RunFor(1s);
    CHECK(three.received.empty());
  }

  TEST_CASE("oversized messages and a full peer queue are dropped and counted") {
    PeerTransportOptions options;
    options.message_bytes_max = 1024;
    options.peer_queue_bytes_max = 64 * 1024;
    Cluster c(5, 2, options);
    REQUIRE(c.sim.RunUntilTrue([&] { return c.AllConnected(); }, 5s));
    CHECK_FALSE(c.nodes[1]->transport.Send(NodeId(2), std::string(1025, 'x')));
    int accepted = 0;
    for (int i = 0; i < 200; ++i) accepted += c.nodes[1]->transport.Send(NodeId(2), std::string(1000, 'y')) ? 1 : 0;
    CHECK(accepted < 200);
    CHECK(accepted >= 60);
    CHECK(c.nodes[1]->transport.Stats().messages_dropped == 1 + (200 - accepted));
    CHECK_FALSE(c.nodes[1]->transport.Send(NodeId(9), "unknown peer"));
    c.sim.RunFor(1s);
    CHECK(c.nodes[2]->received.size() == static_cast<size_t>(accepted));
  }
}

TEST_SUITE("raft.transport_uv") {
  TEST_CASE("two transports exchange messages over real TCP on 127.0.0.1") {
    UvEnv env;
    auto quiet = [](std::string_view) {};
    Logger log1("n1", [] { return 0.0; }, quiet), log2("n2", [] { return 0.0; }, quiet);
    std::vector<Received> got1, got2;
    PeerTransport one(env, NodeId(1), log1, [&](NodeId f, std::string_view m) { got1.push_back({f, std::string(m)}); });
    PeerTransport two(env, NodeId(2), log2, [&](NodeId f, std::string_view m) { got2.push_back({f, std::string(m)}); });
    REQUIRE(one.Listen(NetAddress{"127.0.0.1", 0}).IsOk());
    REQUIRE(two.Listen(NetAddress{"127.0.0.1", 0}).IsOk());
    one.SetPeer(NodeId(2), two.ListenAddress());
    two.SetPeer(NodeId(1), one.ListenAddress());
    REQUIRE(env.RunUntil([&] { return one.IsConnected(NodeId(2)) && two.IsConnected(NodeId(1)); }, 5s));
    const std::string big(3 * 1024 * 1024, 'z');
    REQUIRE(one.Send(NodeId(2), "hello"));
    REQUIRE(one.Send(NodeId(2), big));
    REQUIRE(two.Send(NodeId(1), "reply"));
    REQUIRE(env.RunUntil([&] { return got2.size() == 2 && got1.size() == 1; }, 5s));
    CHECK(got2[0].message == "hello");
    CHECK(got2[1].message == big);
    CHECK(got1[0].from == NodeId(2));
  }
}

}  // namespace
}  // namespace cairn::raft
