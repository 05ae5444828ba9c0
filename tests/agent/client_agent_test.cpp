// agent.server_pool and agent.anti_entropy: the pure parts of a client agent.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "agent/anti_entropy.h"
#include "agent/forward.h"
#include "agent/server_pool.h"
#include "http/http_util.h"
#include "tests/support/scripted_http_server.h"
#include "tests/support/test_ports.h"

namespace cairn::agent {
namespace {

using namespace std::chrono_literals;

gossip::Member ServerMember(const std::string& name, const std::string& http,
                            gossip::MemberState state = gossip::MemberState::kAlive) {
  gossip::Member m;
  m.name = name;
  m.meta.role = "server";
  m.meta.datacenter = "dc1";
  m.meta.http_address = http;
  m.state = state;
  return m;
}

std::vector<gossip::Member> ThreeServers() {
  return {ServerMember("s1", "10.0.0.1:8500"), ServerMember("s2", "10.0.0.2:8500"),
          ServerMember("s3", "10.0.0.3:8500")};
}

}  // namespace

TEST_SUITE("agent.server_pool") {
  TEST_CASE("only alive servers of the datacenter with an HTTP address are used") {
    ServerPool pool(1);
    CHECK(!pool.Current().has_value());
    std::vector<gossip::Member> members = ThreeServers();
    members.push_back(ServerMember("s4", "10.0.0.4:8500", gossip::MemberState::kSuspect));
    members.push_back(ServerMember("s5", "10.0.0.5:8500", gossip::MemberState::kDead));
    members.push_back(ServerMember("s6", ""));
    gossip::Member other_dc = ServerMember("s7", "10.0.0.7:8500");
    other_dc.meta.datacenter = "dc2";
    members.push_back(other_dc);
    gossip::Member client = ServerMember("c1", "10.0.0.8:8500");
    client.meta.role = "client";
    members.push_back(client);
    CHECK(pool.Update(members, "dc1"));
    std::vector<std::string> servers = pool.Servers();
    CHECK(std::set<std::string>(servers.begin(), servers.end()) ==
          std::set<std::string>{"10.0.0.1:8500", "10.0.0.2:8500", "10.0.0.3:8500"});
    CHECK(!pool.Update(members, "dc1"));  // nothing changed
  }

  TEST_CASE("a failed server goes to the back; a stale report changes nothing") {
    ServerPool pool(2);
    pool.Update(ThreeServers(), "dc1");
    const std::string first = *pool.Current();
    pool.Failed(first);
    const std::string second = *pool.Current();
    CHECK(second != first);
    CHECK(pool.Servers().back() == first);
    pool.Failed(first);  // another request's late report about the old server
    CHECK(*pool.Current() == second);
    pool.Failed(second);
    pool.Failed(*pool.Current());
    CHECK(*pool.Current() == first);  // every server tried once: back to the first
  }

  TEST_CASE("the current server survives updates; a server that leaves is dropped") {
    ServerPool pool(3);
    pool.Update(ThreeServers(), "dc1");
    const std::string current = *pool.Current();
    std::vector<gossip::Member> more = ThreeServers();
    more.push_back(ServerMember("s4", "10.0.0.4:8500"));
    CHECK(pool.Update(more, "dc1"));
    CHECK(*pool.Current() == current);
    CHECK(pool.Size() == 4);
    std::vector<gossip::Member> without_current;
    for (const gossip::Member& m : more) {
      if (m.meta.http_address != current) without_current.push_back(m);
    }
    CHECK(pool.Update(without_current, "dc1"));
    CHECK(pool.Size() == 3);
    CHECK(*pool.Current() != current);
  }

  TEST_CASE("rebalancing spreads clients over every server") {
    std::map<std::string, int> chosen;
    for (uint64_t seed = 1; seed <= 300; ++seed) {
      ServerPool pool(seed);
      pool.Update(ThreeServers(), "dc1");
      pool.Rebalance();
      ++chosen[*pool.Current()];
    }
    REQUIRE(chosen.size() == 3);
    for (const auto& [server, count] : chosen) CHECK_MESSAGE(count > 60, server << " chosen " << count << " times");
  }

  TEST_CASE("the rebalance interval is 2-3 minutes, longer when many clients share few servers") {
    Prng prng(4);
    for (int i = 0; i < 100; ++i) {
      const Duration small = ServerPool::RebalanceInterval(3, 50, prng);
      CHECK(small >= 120s);
      CHECK(small <= 180s);
    }
    // 100,000 agents on 3 servers at 64 reconnections per second per server: 520 s.
    CHECK(ServerPool::RebalanceInterval(3, 100000, prng) == std::chrono::seconds(100000 / 3 / 64));
  }
}

namespace {

catalog::Node SelfNode() {
  catalog::Node node;
  node.name = "c1";
  node.id = "4a1b0c2d-0000-4000-8000-000000000001";
  node.address = "10.0.1.1";
  node.datacenter = "dc1";
  node.tagged_addresses = {{"lan", "10.0.1.1"}};
  return node;
}

catalog::Service Web(const std::string& id, uint16_t port) {
  catalog::Service service;
  service.node = "c1";
  service.id = id;
  service.name = "web";
  service.port = port;
  return service;
}

catalog::Check TtlCheck(const std::string& id, const std::string& service_id, catalog::HealthStatus status) {
  catalog::Check check;
  check.node = "c1";
  check.check_id = id;
  check.name = id;
  check.service_id = service_id;
  check.status = status;
  return check;
}

// The catalog's copy of what the agent registered: indexes and the service name filled in.
catalog::NodeRegistrations InCatalog(const LocalNodeState& local) {
  catalog::NodeRegistrations remote{local.node, local.services, local.checks};
  remote.node->modify_index = catalog::RaftIndex(7);
  for (catalog::Service& service : remote.services) service.modify_index = catalog::RaftIndex(8);
  for (catalog::Check& check : remote.checks) {
    check.modify_index = catalog::RaftIndex(9);
    if (!check.service_id.empty()) check.service_name = "web";
  }
  return remote;
}

std::vector<std::string> Describe(const std::vector<catalog::TxnCommand>& txns) {
  std::vector<std::string> out;
  for (const catalog::TxnCommand& txn : txns) {
    for (const catalog::TxnOp& op : txn.ops) {
      if (auto* node = std::get_if<catalog::NodeTxnOp>(&op)) out.push_back("node set " + node->node.name);
      if (auto* service = std::get_if<catalog::ServiceTxnOp>(&op)) {
        const bool set = service->verb == catalog::ServiceTxnOp::Verb::kSet;
        out.push_back(std::string(set ? "service set " : "service delete ") + service->service.id);
      }
      if (auto* check = std::get_if<catalog::CheckTxnOp>(&op)) {
        const bool set = check->verb == catalog::CheckTxnOp::Verb::kSet;
        out.push_back(std::string(set ? "check set " : "check delete ") + check->check.check_id);
      }
    }
  }
  return out;
}

LocalNodeState OneService() {
  return LocalNodeState{
      SelfNode(), {Web("web-1", 80)}, {TtlCheck("service:web-1", "web-1", catalog::HealthStatus::kPassing)}};
}

}  // namespace

TEST_SUITE("agent.anti_entropy") {
  TEST_CASE("an unknown node gets everything, node first, then services, then checks") {
    const std::vector<std::string> ops = Describe(AntiEntropyOps(OneService(), catalog::NodeRegistrations{}, 128));
    CHECK(ops == std::vector<std::string>{"node set c1", "service set web-1", "check set service:web-1"});
  }

  TEST_CASE("a catalog that agrees needs nothing, whatever indexes and service names it adds") {
    const LocalNodeState local = OneService();
    CHECK(AntiEntropyOps(local, InCatalog(local), 128).empty());
  }

  TEST_CASE("only what differs is written; strangers are deleted, checks before services") {
    LocalNodeState local = OneService();
    catalog::NodeRegistrations remote = InCatalog(local);
    local.services.push_back(Web("web-2", 81));                                                  // missing there
    local.checks[0].status = catalog::HealthStatus::kCritical;                                   // changed here
    remote.services.push_back(Web("stray", 99));                                                 // unknown here
    remote.checks.push_back(TtlCheck("stray-check", "stray", catalog::HealthStatus::kPassing));  // unknown here
    remote.checks.push_back(TtlCheck(kSerfHealthCheckId, "", catalog::HealthStatus::kPassing));  // gossip's
    const std::vector<std::string> ops = Describe(AntiEntropyOps(local, remote, 128));
    CHECK(ops == std::vector<std::string>{"service set web-2", "check set service:web-1", "check delete stray-check",
                                          "service delete stray"});
  }

  TEST_CASE("a changed node record is set again") {
    const LocalNodeState local = OneService();
    catalog::NodeRegistrations remote = InCatalog(local);
    remote.node->id.clear();  // as the leader's gossip reconcile first registers it
    CHECK(Describe(AntiEntropyOps(local, remote, 128)) == std::vector<std::string>{"node set c1"});
  }

  TEST_CASE("many operations are split into transactions of at most the limit, in order") {
    LocalNodeState local;
    local.node = SelfNode();
    for (int i = 0; i < 10; ++i) local.services.push_back(Web("web-" + std::to_string(i), static_cast<uint16_t>(i)));
    const std::vector<catalog::TxnCommand> txns = AntiEntropyOps(local, catalog::NodeRegistrations{}, 4);
    REQUIRE(txns.size() == 3);  // 11 operations
    CHECK(txns[0].ops.size() == 4);
    CHECK(txns[2].ops.size() == 3);
    CHECK(std::holds_alternative<catalog::NodeTxnOp>(txns[0].ops[0]));
  }

  TEST_CASE("the sync interval is a minute up to 128 members and grows by a minute per doubling") {
    Prng prng(5);
    for (int i = 0; i < 100; ++i) {
      const Duration small = AntiEntropyInterval(50, prng);
      CHECK(small >= 60s);
      CHECK(small <= 90s);
    }
    const Duration large = AntiEntropyInterval(1024, prng);  // log2(1024) - log2(128) = 3: x4
    CHECK(large >= 240s);
    CHECK(large <= 360s);
  }
}

TEST_SUITE("agent.forward") {
  TEST_CASE("a forwarded write's error keeps whether a retry is safe") {
    // Nothing applied: the client may retry, and sees Consul's text.
    const Status no_leader = ForwardedWriteError(500, "No cluster leader");
    CHECK(no_leader.Code() == StatusCode::kUnavailable);
    // The leader could not tell whether the write was applied: that must not turn into
    // "No cluster leader" on the way back, or a retrying client could apply it twice.
    const Status unknown =
        ForwardedWriteError(500, std::string(http::kOutcomeUnknownReply) + "index 42 was not applied here in time");
    CHECK(unknown.Code() == StatusCode::kTimeout);
    CHECK(unknown.Message() == "the server at the other end answered: index 42 was not applied here in time");
    CHECK(ForwardedWriteError(500, "disk full").Code() == StatusCode::kTimeout);
    CHECK(ForwardedWriteError(400, "Request decode failed").Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("a write that never reached a server is kUnavailable; one sent and unanswered is kTimeout") {
    using cairn::testing::ScriptedServer;
    const catalog::Command command{0, catalog::SessionDestroyCommand{"s1"}};
    const std::string refused = "127.0.0.1:" + std::to_string(cairn::testing::ReserveLoopbackPort());
    CHECK(ForwardWrite(refused, command).GetStatus().Code() == StatusCode::kUnavailable);
    // The server reads the write and closes without a word: it may have applied it.
    ScriptedServer dropping([](int, int, const std::string&) { return ScriptedServer::Reply{"", true}; });
    const std::string dropping_http = "127.0.0.1:" + std::to_string(dropping.Port());
    const Status lost = ForwardWrite(dropping_http, command).GetStatus();
    CHECK(lost.Code() == StatusCode::kTimeout);
    CHECK(lost.Message().find("outcome is unknown") != std::string::npos);
    CHECK(dropping.Requests().size() == 1);
    ScriptedServer leaderless([](int, int, const std::string&) {
      return ScriptedServer::Reply{"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 17\r\n\r\nNo cluster leader"};
    });
    const Status no_leader = ForwardWrite("127.0.0.1:" + std::to_string(leaderless.Port()), command).GetStatus();
    CHECK(no_leader.Code() == StatusCode::kUnavailable);
    CHECK(no_leader.Message() == "No cluster leader");
  }
}

}  // namespace cairn::agent
