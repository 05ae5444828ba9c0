// http.relay: a client agent's HTTP API relays every non-agent request to a server, over real
// sockets: a "server" HttpApi on a TestBackend and a "client" HttpApi whose backend relays.
#include "http/relay.h"

#include <atomic>
#include <mutex>
#include <thread>

#include "tests/http/http_fixture.h"
#include "tests/support/test_ports.h"

namespace cairn::http::testing {
namespace {

using namespace std::chrono_literals;

// A client agent's backend as far as the relay sees it: it answers /v1/agent/self itself and
// names the servers to relay to, in order; every other call fails loudly.
class RelayingBackend final : public Backend {
 public:
  void SetServers(std::vector<std::string> servers) {
    std::lock_guard<std::mutex> lock(mu_);
    servers_ = std::move(servers);
  }
  std::vector<std::string> FailedServers() {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }

  bool RelaysToServers() const override { return true; }
  Result<std::string> RelayServer() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (servers_.empty()) return Status::Unavailable("No known Cairn servers");
    return servers_.front();
  }
  void RelayFailed(const std::string& server) override {
    std::lock_guard<std::mutex> lock(mu_);
    failed_.push_back(server);
    if (!servers_.empty() && servers_.front() == server) servers_.erase(servers_.begin());
  }

  AgentInfo Self() override {
    AgentInfo info;
    info.node_name = "relay-client";
    return info;
  }

  Result<catalog::CommandResult> Write(catalog::Command) override { return NotHere(); }
  Result<catalog::Session> RenewSession(const std::string&) override { return NotHere(); }
  Result<QueryMeta> Query(const QueryOptions&, const std::vector<catalog::WatchTopic>&, const ReadFn&) override {
    return NotHere();
  }
  Result<std::pair<catalog::TxnResult, QueryMeta>> ReadTxn(const QueryOptions&,
                                                           const std::vector<catalog::TxnOp>&) override {
    return NotHere();
  }
  Status RegisterLocalService(catalog::Service, std::vector<LocalCheck>) override { return NotHere(); }
  Status DeregisterLocalService(const std::string&) override { return NotHere(); }
  Status RegisterLocalCheck(LocalCheck) override { return NotHere(); }
  Status DeregisterLocalCheck(const std::string&) override { return NotHere(); }
  Status UpdateLocalCheck(const std::string&, catalog::HealthStatus, std::string) override { return NotHere(); }
  std::vector<catalog::Service> LocalServices() override { return {}; }
  std::vector<LocalCheck> LocalChecks() override { return {}; }
  Status Join(const std::string&) override { return NotHere(); }
  Status Leave() override { return NotHere(); }
  Status ForceLeave(const std::string&) override { return NotHere(); }
  Status RemoveRaftPeer(const std::string&, const std::string&) override { return NotHere(); }
  std::string LeaderAddress() override { return ""; }
  RaftConfigurationView RaftConfiguration() override { return {}; }
  std::vector<Member> Members() override { return {}; }
  std::vector<std::string> Datacenters() override { return {}; }

 private:
  static Status NotHere() { return Status::Internal("a relaying agent answered a request it should have relayed"); }

  std::mutex mu_;
  std::vector<std::string> servers_;
  std::vector<std::string> failed_;
};

struct RelayFixture {
  RelayFixture() : client_api(relaying, TestOptions()) {
    REQUIRE(client_api.Start().IsOk());
    relaying.SetServers({ServerAddress()});
    client = std::make_unique<httplib::Client>("127.0.0.1", client_api.Port());
    client->set_read_timeout(30s);
  }
  std::string ServerAddress() const { return "127.0.0.1:" + std::to_string(server.api.Port()); }

  ApiFixture server;
  RelayingBackend relaying;
  HttpApi client_api;
  std::unique_ptr<httplib::Client> client;
};

httplib::Response Must(const httplib::Result& result) {
  REQUIRE_MESSAGE(result, "request failed: " << httplib::to_string(result.error()));
  return *result;
}

}  // namespace

TEST_SUITE("http.relay") {
  TEST_CASE("reads and writes reach the server; status, body and X-Consul headers come back unchanged") {
    RelayFixture f;
    httplib::Response put = Must(f.client->Put("/v1/kv/app/config?flags=7", "v1", "text/plain"));
    CHECK(put.status == 200);
    CHECK(put.body == "true");
    httplib::Response raw = Must(f.client->Get("/v1/kv/app/config?raw"));
    CHECK(raw.status == 200);
    CHECK(raw.body == "v1");
    const httplib::Response direct = f.server.Get("/v1/kv/app/config");
    httplib::Response relayed = Must(f.client->Get("/v1/kv/app/config"));
    CHECK(relayed.body == direct.body);  // query string kept: flags and the JSON form
    CHECK(IndexHeader(relayed) == IndexHeader(direct));
    CHECK(relayed.get_header_value("X-Consul-KnownLeader") == "true");
    CHECK(relayed.get_header_value("Content-Type") == "application/json");
    httplib::Response missing = Must(f.client->Get("/v1/kv/nothing/here"));
    CHECK(missing.status == 404);
    CHECK(missing.has_header("X-Consul-Index"));
    httplib::Response bad = Must(f.client->Put("/v1/kv/app/config?cas=x", "v2", "text/plain"));
    CHECK(bad.status == 400);
    CHECK(bad.body == f.server.Put("/v1/kv/app/config?cas=x", "v2").body);
    CHECK(f.relaying.FailedServers().empty());
  }

  TEST_CASE("/v1/agent/* is answered by the agent itself") {
    RelayFixture f;
    httplib::Response self = Must(f.client->Get("/v1/agent/self"));
    REQUIRE(self.status == 200);
    CHECK(BodyJson(self)["Config"]["NodeName"] == "relay-client");
  }

  TEST_CASE("a blocking query is held at the server and wakes on a change") {
    RelayFixture f;
    f.server.Put("/v1/kv/watched", "a");
    const uint64_t index = IndexHeader(f.server.Get("/v1/kv/watched"));
    std::atomic<bool> returned{false};
    httplib::Response woke;
    std::thread reader([&] {
      woke = Must(f.client->Get(("/v1/kv/watched?raw&index=" + std::to_string(index) + "&wait=20s").c_str()));
      returned = true;
    });
    std::this_thread::sleep_for(300ms);
    CHECK(!returned);
    f.server.Put("/v1/kv/watched", "b");
    reader.join();
    CHECK(woke.body == "b");
    CHECK(IndexHeader(woke) > index);
  }

  TEST_CASE("a server that refuses the connection is reported and the next one answers, for writes too") {
    RelayFixture f;
    const std::string dead = "127.0.0.1:" + std::to_string(cairn::testing::ReserveLoopbackPort());
    f.relaying.SetServers({dead, f.ServerAddress()});
    httplib::Response put = Must(f.client->Put("/v1/kv/failover", "x", "text/plain"));
    CHECK(put.status == 200);
    CHECK(f.relaying.FailedServers() == std::vector<std::string>{dead});
    CHECK(f.server.Get("/v1/kv/failover?raw").body == "x");
  }

  TEST_CASE("no server at all: 500 naming why") {
    RelayFixture f;
    f.relaying.SetServers({});
    httplib::Response res = Must(f.client->Get("/v1/kv/anything"));
    CHECK(res.status == 500);
    CHECK(res.body.find("No known Cairn servers") != std::string::npos);
    const std::string dead = "127.0.0.1:" + std::to_string(cairn::testing::ReserveLoopbackPort());
    f.relaying.SetServers({dead, dead, dead, dead});
    res = Must(f.client->Get("/v1/kv/anything"));
    CHECK(res.status == 500);
    CHECK(res.body.find("rpc error: server " + dead) != std::string::npos);
    CHECK(f.relaying.FailedServers().size() == static_cast<size_t>(kRelayAttemptsMax));
  }
}

}  // namespace cairn::http::testing
