// agent.config: the `cairn agent` command line and the server bootstrap rules.
#include "agent/agent_config.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/server_bootstrap.h"

namespace cairn::agent {
namespace {

gossip::Member ServerMember(const std::string& name, const std::string& rpc, const std::string& dc = "dc1",
                            gossip::MemberState state = gossip::MemberState::kAlive) {
  gossip::Member m;
  m.name = name;
  m.meta.role = "server";
  m.meta.datacenter = dc;
  m.meta.rpc_address = rpc;
  m.state = state;
  return m;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("cairn-agent-config-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

}  // namespace

TEST_SUITE("agent.config") {
  TEST_CASE("Consul's agent flags in both spellings") {
    auto config = ParseAgentArgs({"-server", "-bootstrap-expect=3", "-data-dir", "/tmp/x", "-node=s1",
                                  "--bind=127.0.0.2", "-retry-join=127.0.0.1:8301", "-retry-join", "127.0.0.3",
                                  "-http-port=18500", "-server-port", "18300"});
    REQUIRE(config.IsOk());
    CHECK(config->server);
    CHECK(config->bootstrap_expect == 3);
    CHECK(config->data_dir == "/tmp/x");
    CHECK(config->node_name == "s1");
    CHECK(config->bind_addr == "127.0.0.2");
    CHECK(config->retry_join == std::vector<std::string>{"127.0.0.1:8301", "127.0.0.3"});
    CHECK(config->http_port == 18500);
    CHECK(config->server_port == 18300);
    CHECK(config->client_addr == "127.0.0.1");  // listeners stay on loopback unless told
    CHECK(ValidateAgentConfig(*config).IsOk());
  }

  TEST_CASE("bad flags name the problem") {
    CHECK(ParseAgentArgs({"-no-such-flag"}).GetStatus().Message() == "flag provided but not defined: -no-such-flag");
    CHECK(ParseAgentArgs({"-http-port=99999"}).GetStatus().Message().find("-http-port") != std::string::npos);
    CHECK(ParseAgentArgs({"-data-dir"}).GetStatus().Message() == "flag needs an argument: -data-dir");
    CHECK(ParseAgentArgs({"-bootstrap-expect=0"}).GetStatus().Message().find("-bootstrap-expect") != std::string::npos);
    CHECK(ParseAgentArgs({"stray"}).GetStatus().Message().find("stray") != std::string::npos);
    CHECK(ParseAgentArgs({"-help"})->help);
  }

  TEST_CASE("the whole configuration is checked") {
    AgentConfig dev;
    dev.dev = true;
    CHECK(ValidateAgentConfig(dev).IsOk());
    AgentConfig server;
    server.server = true;
    CHECK(ValidateAgentConfig(server).Message().find("-data-dir") != std::string::npos);
    server.data_dir = "/tmp/x";
    CHECK(ValidateAgentConfig(server).Message().find("-bootstrap-expect") != std::string::npos);
    server.bootstrap_expect = 3;
    CHECK(ValidateAgentConfig(server).Message().find("-retry-join") != std::string::npos);
    server.retry_join = {"127.0.0.1"};
    CHECK(ValidateAgentConfig(server).IsOk());
    // A client agent (neither -server nor -dev) needs a data dir and takes no -bootstrap-expect.
    AgentConfig client;
    CHECK(ValidateAgentConfig(client).Message().find("-data-dir") != std::string::npos);
    client.data_dir = "/tmp/x";
    CHECK(ValidateAgentConfig(client).IsOk());
    client.bootstrap_expect = 1;
    CHECK(ValidateAgentConfig(client).Message().find("-bootstrap-expect needs -server") != std::string::npos);
  }
}

TEST_SUITE("agent.bootstrap") {
  TEST_CASE("server ids come from node names: stable, distinct, never 0") {
    CHECK(ServerIdForNode("s1") == ServerIdForNode("s1"));
    CHECK(ServerIdForNode("s1") != ServerIdForNode("s2"));
    CHECK(ServerIdForNode("") != raft::kNoNode);
  }

  TEST_CASE("the voter set forms at exactly bootstrap_expect alive servers of the datacenter") {
    std::vector<gossip::Member> members = {ServerMember("s1", "127.0.0.1:8300"), ServerMember("s2", "127.0.0.1:8310")};
    gossip::Member client = ServerMember("c1", "");
    client.meta.role = "client";
    members.push_back(client);
    members.push_back(ServerMember("other-dc", "127.0.0.1:8330", "dc2"));
    members.push_back(ServerMember("dead", "127.0.0.1:8340", "dc1", gossip::MemberState::kDead));
    CHECK_FALSE(ExpectedServers(members, "dc1", 3).has_value());
    members.push_back(ServerMember("s3", "127.0.0.1:8320"));
    auto peers = ExpectedServers(members, "dc1", 3);
    REQUIRE(peers.has_value());
    CHECK(peers->size() == 3);
    CHECK(peers->at(ServerIdForNode("s3")).ToString() == "127.0.0.1:8320");
    // More servers than expected is a configuration error: no bootstrap.
    members.push_back(ServerMember("s4", "127.0.0.1:8350"));
    CHECK_FALSE(ExpectedServers(members, "dc1", 3).has_value());
  }

  TEST_CASE("saved peers round trip; a damaged file is refused with its line") {
    const std::string path = TempPath("peers");
    std::filesystem::remove(path);
    auto none = LoadServerPeers(path);
    REQUIRE(none.IsOk());
    CHECK_FALSE(none->has_value());
    ServerPeers peers{{raft::NodeId{7}, NetAddress{"127.0.0.1", 8300}},
                      {raft::NodeId{9}, NetAddress{"127.0.0.2", 8301}}};
    REQUIRE(SaveServerPeers(path, peers).IsOk());
    auto loaded = LoadServerPeers(path);
    REQUIRE(loaded.IsOk());
    CHECK(**loaded == peers);
    std::ofstream(path, std::ios::app) << "12 not-an-address\n";
    auto damaged = LoadServerPeers(path);
    CHECK(damaged.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(damaged.GetStatus().Message().find(":3:") != std::string::npos);
    std::filesystem::remove(path);
  }
}

}  // namespace cairn::agent
