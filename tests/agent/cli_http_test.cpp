// The `cairn` verbs against a tiny real HTTP server that answers the Consul endpoints each verb
// needs with canned Consul-format replies. Checks the client side only: the exact requests a
// verb makes, and what it prints and returns.
#include <doctest/doctest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/cli/cli.h"
#include "common/base64.h"

namespace cairn::cli {
namespace {

struct Recorded {
  std::string method;
  std::string target;  // the raw request target: path and query as sent
  std::string path;    // decoded path
  std::multimap<std::string, std::string> params;
  std::string body;

  std::string Line() const { return method + " " + target; }
};

struct Canned {
  int status = 200;
  std::string body;
  uint64_t index = 0;  // sent as X-Consul-Index when non-zero
};

using Answer = std::function<Canned(const Recorded&)>;

class FakeAgent {
 public:
  explicit FakeAgent(Answer answer) : answer_(std::move(answer)) {
    auto handler = [this](const httplib::Request& request, httplib::Response& response) {
      Recorded recorded{request.method, request.target, request.path, request.params, request.body};
      Canned canned = answer_(recorded);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(std::move(recorded));
      }
      response.status = canned.status;
      if (canned.index != 0) response.set_header("X-Consul-Index", std::to_string(canned.index));
      response.set_content(canned.body, "application/json");
    };
    server_.Get(".*", handler);
    server_.Put(".*", handler);
    server_.Delete(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    REQUIRE(port_ > 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // This httplib has no wait_until_ready(): poll until the accept loop runs.
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    REQUIRE(server_.is_running());
  }
  ~FakeAgent() {
    server_.stop();
    thread_.join();
  }

  std::string Address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<Recorded> Requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::vector<std::string> Lines() {
    std::vector<std::string> lines;
    for (const Recorded& r : Requests()) lines.push_back(r.Line());
    return lines;
  }

 private:
  Answer answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Recorded> requests_;
};

struct Run {
  int code;
  std::string out;
  std::string err;
};

// Runs `verb` against `agent`, with -http-addr placed before the verb's own arguments.
Run RunAgainst(FakeAgent& agent, std::vector<std::string> verb, const std::vector<std::string>& rest,
               const std::string& input = "") {
  verb.push_back("-http-addr=" + agent.Address());
  verb.insert(verb.end(), rest.begin(), rest.end());
  std::istringstream in(input);
  std::ostringstream out, err;
  int code = RunCli(verb, in, out, err);
  return {code, out.str(), err.str()};
}

Canned Reply(std::string body, int status = 200) { return Canned{status, std::move(body), 0}; }

// True once `pid` has exited (gone, or a zombie waiting for its new parent), within 5 s.
bool ProcessEnds(int pid) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return true;
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_SUITE("cli.http") {
  TEST_CASE("kv put sends the value and the flags/cas parameters, and reports Consul's messages") {
    FakeAgent agent([](const Recorded& r) { return Reply(r.params.count("cas") ? "false" : "true"); });
    Run put = RunAgainst(agent, {"kv", "put"}, {"-flags", "7", "app/a b", "hello"});
    CHECK(put.code == 0);
    CHECK(put.out == "Success! Data written to: app/a b\n");
    Run cas = RunAgainst(agent, {"kv", "put"}, {"-cas", "-modify-index=12", "app/x", "v"});
    CHECK(cas.code == 1);
    CHECK(cas.err == "Error! Did not write to app/x: CAS failed\n");
    std::vector<Recorded> requests = agent.Requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].Line() == "PUT /v1/kv/app/a%20b?flags=7");
    CHECK(requests[0].body == "hello");
    CHECK(requests[1].Line() == "PUT /v1/kv/app/x?cas=12");
  }

  TEST_CASE("kv put reads standard input, files and base64, and takes locks") {
    FakeAgent agent([](const Recorded&) { return Reply("true"); });
    std::string path = "/tmp/cairn_cli_http_put_" + std::to_string(getpid());
    { std::ofstream(path, std::ios::binary) << "from file"; }
    CHECK(RunAgainst(agent, {"kv", "put"}, {"k1", "-"}, "from stdin").code == 0);
    CHECK(RunAgainst(agent, {"kv", "put"}, {"k2", "@" + path}).code == 0);
    CHECK(RunAgainst(agent, {"kv", "put"}, {"-base64", "k3", "aGk="}).code == 0);
    CHECK(RunAgainst(agent, {"kv", "put"}, {"k4"}).code == 0);
    Run acquire = RunAgainst(agent, {"kv", "put"}, {"-acquire", "-session=s-1", "k5", "v"});
    Run release = RunAgainst(agent, {"kv", "put"}, {"-release", "-session", "s-1", "k5"});
    std::remove(path.c_str());
    CHECK(acquire.out == "Success! Lock acquired on: k5\n");
    CHECK(release.out == "Success! Lock released on: k5\n");
    std::vector<Recorded> requests = agent.Requests();
    REQUIRE(requests.size() == 6);
    CHECK(requests[0].body == "from stdin");
    CHECK(requests[1].body == "from file");
    CHECK(requests[2].body == "hi");
    CHECK(requests[3].body.empty());
    CHECK(requests[4].Line() == "PUT /v1/kv/k5?acquire=s-1");
    CHECK(requests[5].Line() == "PUT /v1/kv/k5?release=s-1");
  }

  TEST_CASE("kv get prints the value, errors on a missing key, and passes -stale and -datacenter") {
    FakeAgent agent([](const Recorded& r) {
      if (r.path == "/v1/kv/missing") return Reply("", 404);
      return Reply(R"([{"Key":"app/a","Flags":3,"Value":"aGVsbG8=","CreateIndex":5,"ModifyIndex":6,"LockIndex":0}])");
    });
    Run get = RunAgainst(agent, {"kv", "get"}, {"-stale", "-datacenter=dc2", "app/a"});
    CHECK(get.code == 0);
    CHECK(get.out == "hello\n");
    Run b64 = RunAgainst(agent, {"kv", "get"}, {"-base64", "app/a"});
    CHECK(b64.out == "aGVsbG8=\n");
    Run missing = RunAgainst(agent, {"kv", "get"}, {"missing"});
    CHECK(missing.code == 1);
    CHECK(missing.err == "Error! No key exists at: missing\n");
    CHECK(missing.out.empty());
    Run detailed = RunAgainst(agent, {"kv", "get"}, {"-detailed", "app/a"});
    CHECK(detailed.out.rfind("CreateIndex      5\nFlags            3\n", 0) == 0);
    CHECK(agent.Lines() == std::vector<std::string>{"GET /v1/kv/app/a?dc=dc2&stale", "GET /v1/kv/app/a",
                                                    "GET /v1/kv/missing", "GET /v1/kv/app/a"});
  }

  TEST_CASE("kv get -recurse and -keys ask for the prefix and print every entry") {
    FakeAgent agent([](const Recorded& r) {
      if (r.params.count("keys")) return Reply(R"(["app/", "app/a", "app:b"])");
      if (r.path == "/v1/kv/none") return Reply("", 404);
      return Reply(R"([{"Key":"app/a","Value":"MQ=="},{"Key":"app/b","Value":"Mg=="}])");
    });
    Run recurse = RunAgainst(agent, {"kv", "get"}, {"-recurse", "app"});
    CHECK(recurse.out == "app/a:1\napp/b:2\n");
    Run keys = RunAgainst(agent, {"kv", "get"}, {"-keys", "-separator=:", "app"});
    CHECK(keys.out == "app/\napp/a\napp:b\n");
    Run empty = RunAgainst(agent, {"kv", "get"}, {"-recurse", "none"});
    CHECK(empty.code == 0);
    CHECK(empty.out.empty());
    CHECK(agent.Lines() == std::vector<std::string>{"GET /v1/kv/app?recurse", "GET /v1/kv/app?keys&separator=%3A",
                                                    "GET /v1/kv/none?recurse"});
  }

  TEST_CASE("kv delete: key, prefix, and a failed check-and-set") {
    FakeAgent agent([](const Recorded& r) { return Reply(r.params.count("cas") ? "false" : "true"); });
    Run one = RunAgainst(agent, {"kv", "delete"}, {"app/a"});
    CHECK(one.out == "Success! Deleted key: app/a\n");
    Run tree = RunAgainst(agent, {"kv", "delete"}, {"-recurse", "app"});
    CHECK(tree.out == "Success! Deleted keys with prefix: app\n");
    Run cas = RunAgainst(agent, {"kv", "delete"}, {"-cas", "-modify-index=3", "app/b"});
    CHECK(cas.code == 1);
    CHECK(cas.err == "Error! Did not delete key app/b: CAS failed\n");
    CHECK(agent.Lines() ==
          std::vector<std::string>{"DELETE /v1/kv/app/a", "DELETE /v1/kv/app?recurse", "DELETE /v1/kv/app/b?cas=3"});
  }

  TEST_CASE("kv export then kv import copies a tree between agents, values and flags intact") {
    // The source holds binary and empty values; the destination stores what it is sent.
    std::string binary("\x00\xff\x01", 3);
    FakeAgent source([&binary](const Recorded&) {
      return Reply(R"([{"Key":"cfg/bin","Flags":9,"Value":")" + std::string("AP8B") +
                   R"("},{"Key":"cfg/empty","Flags":0,"Value":null}])");
    });
    std::mutex stored_mutex;
    std::map<std::string, std::pair<std::string, std::string>> stored;  // key -> (flags, value)
    FakeAgent destination([&](const Recorded& r) {
      std::lock_guard<std::mutex> lock(stored_mutex);
      stored[r.path.substr(7)] = {r.params.find("flags")->second, r.body};
      return Reply("true");
    });
    Run exported = RunAgainst(source, {"kv", "export"}, {"cfg"});
    REQUIRE(exported.code == 0);
    CHECK(source.Lines() == std::vector<std::string>{"GET /v1/kv/cfg?recurse"});
    Run imported = RunAgainst(destination, {"kv", "import"}, {"-"}, exported.out);
    CHECK(imported.code == 0);
    CHECK(imported.out == "Imported: cfg/bin\nImported: cfg/empty\n");
    std::lock_guard<std::mutex> lock(stored_mutex);
    CHECK(stored.size() == 2);
    CHECK(stored["cfg/bin"] == std::make_pair(std::string("9"), binary));
    CHECK(stored["cfg/empty"] == std::make_pair(std::string("0"), std::string()));
    CHECK(destination.Lines() ==
          std::vector<std::string>{"PUT /v1/kv/cfg/bin?flags=9", "PUT /v1/kv/cfg/empty?flags=0"});
  }

  TEST_CASE("kv import stops at the first refused write") {
    FakeAgent agent([](const Recorded& r) { return r.path == "/v1/kv/b" ? Reply("boom", 500) : Reply("true"); });
    Run run = RunAgainst(agent, {"kv", "import"}, {R"([{"key":"a","flags":0,"value":""},{"key":"b","value":""},
                                                      {"key":"c","value":""}])"});
    CHECK(run.code == 1);
    CHECK(run.out == "Imported: a\n");
    CHECK(run.err == "Error! Failed to write b: Unexpected response code: 500 (boom)\n");
    CHECK(agent.Requests().size() == 2);
  }

  TEST_CASE("catalog nodes and services print tables; an empty catalog is reported but not an error") {
    bool empty = false;
    FakeAgent agent([&empty](const Recorded& r) {
      if (r.path == "/v1/catalog/nodes") {
        return Reply(empty ? "[]" : R"([{"ID":"abcdef0123","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1"}])");
      }
      return Reply(empty ? "{}" : R"({"web":["b","a"],"consul":[]})");
    });
    Run nodes = RunAgainst(agent, {"catalog", "nodes"}, {"-stale"});
    CHECK(nodes.out == "Node  ID        Address   DC\nn1    abcdef01  10.0.0.1  dc1\n");
    Run services = RunAgainst(agent, {"catalog", "services"}, {"-tags"});
    CHECK(services.out == "consul\nweb     a,b\n");
    empty = true;
    Run no_nodes = RunAgainst(agent, {"catalog", "nodes"}, {});
    CHECK(no_nodes.code == 0);
    CHECK(no_nodes.err == "No nodes match the given query - try expanding your search.\n");
    Run no_services = RunAgainst(agent, {"catalog", "services"}, {});
    CHECK(no_services.code == 0);
    CHECK(no_services.err == "No services match the given query - try expanding your search.\n");
    CHECK(agent.Lines() == std::vector<std::string>{"GET /v1/catalog/nodes?stale", "GET /v1/catalog/services",
                                                    "GET /v1/catalog/nodes", "GET /v1/catalog/services"});
  }

  TEST_CASE("an error reply from the agent is an error exit with its code and body") {
    FakeAgent agent([](const Recorded&) { return Reply("No cluster leader\n", 500); });
    Run run = RunAgainst(agent, {"catalog", "nodes"}, {});
    CHECK(run.code == 1);
    CHECK(run.err == "Error listing nodes: Unexpected response code: 500 (No cluster leader)\n");
    CHECK(run.out.empty());
  }

  TEST_CASE("operator raft list-peers and remove-peer") {
    FakeAgent agent([](const Recorded& r) {
      if (r.method == "DELETE") return Reply("");
      return Reply(R"({"Servers":[{"ID":"i1","Node":"s1","Address":"10.0.0.1:8300","Leader":true,"Voter":true,
                                   "ProtocolVersion":"3"}],"Index":4})");
    });
    Run list = RunAgainst(agent, {"operator", "raft", "list-peers"}, {"-stale=true"});
    CHECK(list.out ==
          "Node  ID  Address        State   Voter  RaftProtocol\n"
          "s1    i1  10.0.0.1:8300  leader  true   3\n");
    Run by_address = RunAgainst(agent, {"operator", "raft", "remove-peer"}, {"-address=10.0.0.9:8300"});
    CHECK(by_address.out == "Removed peer with address \"10.0.0.9:8300\"\n");
    Run by_id = RunAgainst(agent, {"operator", "raft", "remove-peer"}, {"-id", "i9"});
    CHECK(by_id.out == "Removed peer with id \"i9\"\n");
    CHECK(agent.Lines() == std::vector<std::string>{"GET /v1/operator/raft/configuration?stale",
                                                    "DELETE /v1/operator/raft/peer?address=10.0.0.9%3A8300",
                                                    "DELETE /v1/operator/raft/peer?id=i9"});
  }

  TEST_CASE("members, join, leave, force-leave and info") {
    FakeAgent agent([](const Recorded& r) {
      if (r.path == "/v1/agent/members") {
        return Reply(R"([{"Name":"a","Addr":"10.0.0.1","Port":8301,"Status":1,
                          "Tags":{"role":"consul","dc":"dc1","build":"0.1.0","vsn":"2"}}])");
      }
      if (r.path == "/v1/agent/join/10.0.0.9:8301") return Reply("unreachable", 500);
      if (r.path == "/v1/agent/self") return Reply(R"({"Stats":{"agent":{"checks":"2"}}})");
      return Reply("");
    });
    Run members = RunAgainst(agent, {"members"}, {"-status=alive"});
    CHECK(members.out ==
          "Node  Address        Status  Type    Build  Protocol  DC   Partition  Segment\n"
          "a     10.0.0.1:8301  alive   server  0.1.0  2         dc1  default    <all>\n");
    Run join = RunAgainst(agent, {"join"}, {"10.0.0.2:8301", "10.0.0.9:8301"});
    CHECK(join.code == 0);
    CHECK(join.out == "Successfully joined cluster by contacting 1 nodes.\n");
    CHECK(join.err == "Error joining address '10.0.0.9:8301': Unexpected response code: 500 (unreachable)\n");
    Run join_none = RunAgainst(agent, {"join"}, {"-wan", "10.0.0.9:8301"});
    CHECK(join_none.code == 1);
    CHECK(join_none.err.find("Failed to join any nodes.\n") != std::string::npos);
    CHECK(RunAgainst(agent, {"leave"}, {}).out == "Graceful leave complete\n");
    Run force = RunAgainst(agent, {"force-leave"}, {"-prune", "dead-node"});
    CHECK(force.code == 0);
    CHECK(force.out.empty());
    CHECK(RunAgainst(agent, {"info"}, {}).out == "agent:\n\tchecks = 2\n");
    CHECK(agent.Lines() == std::vector<std::string>{"GET /v1/agent/members", "PUT /v1/agent/join/10.0.0.2%3A8301",
                                                    "PUT /v1/agent/join/10.0.0.9%3A8301",
                                                    "PUT /v1/agent/join/10.0.0.9%3A8301?wan=1", "PUT /v1/agent/leave",
                                                    "PUT /v1/agent/force-leave/dead-node?prune=1",
                                                    "GET /v1/agent/self"});
  }

  TEST_CASE("CAIRN_HTTP_ADDR wins over CONSUL_HTTP_ADDR when no flag is given") {
    FakeAgent agent([](const Recorded&) { return Reply(""); });
    setenv("CAIRN_HTTP_ADDR", agent.Address().c_str(), 1);
    setenv("CONSUL_HTTP_ADDR", "127.0.0.1:1", 1);
    std::ostringstream out, err;
    int code = RunCli({"leave", "-token=ignored"}, out, err);
    unsetenv("CAIRN_HTTP_ADDR");
    unsetenv("CONSUL_HTTP_ADDR");
    CHECK(code == 0);
    CHECK(agent.Lines() == std::vector<std::string>{"PUT /v1/agent/leave"});
  }

  // The lock key as Consul's lock writes it: the Flags value that marks a lock.
  const std::string kLockFlags = "3304740253564472344";

  TEST_CASE("lock: session, acquire, child with CONSUL_LOCK_HELD, release, delete, destroy; child's exit code") {
    FakeAgent agent([](const Recorded& r) {
      if (r.path == "/v1/session/create") return Reply(R"({"ID":"sess-1"})");
      if (r.method == "GET") {
        // Free both before the acquire and after the release, when the lock deletes it by CAS.
        return Canned{200, R"([{"Key":"jobs/.lock","Flags":3304740253564472344,"Value":null,"ModifyIndex":9}])", 9};
      }
      return Reply("true");
    });
    std::string marker = "/tmp/cairn_cli_lock_" + std::to_string(getpid());
    Run run = RunAgainst(agent, {"lock"},
                         {"-name=nightly", "jobs/", "echo", "$CONSUL_LOCK_HELD", ">" + marker, ";", "exit", "7"});
    CHECK(run.code == 7);
    CHECK(run.err.empty());
    std::ifstream file(marker);
    std::string held;
    std::getline(file, held);
    std::remove(marker.c_str());
    CHECK(held == "true");
    std::vector<Recorded> requests = agent.Requests();
    std::vector<std::string> lines = agent.Lines();
    CHECK(lines == std::vector<std::string>{
                       "PUT /v1/session/create",
                       "GET /v1/kv/jobs/.lock",
                       "PUT /v1/kv/jobs/.lock?acquire=sess-1&flags=" + kLockFlags,
                       "PUT /v1/kv/jobs/.lock?release=sess-1&flags=" + kLockFlags,
                       "GET /v1/kv/jobs/.lock",
                       "DELETE /v1/kv/jobs/.lock?cas=9",
                       "PUT /v1/session/destroy/sess-1",
                   });
    REQUIRE(!requests.empty());
    CHECK(requests[0].body == R"({"Behavior":"release","Name":"nightly","TTL":"15s"})");
  }

  TEST_CASE("lock: a lock held by another session times out, acquires nothing, destroys its session") {
    FakeAgent agent([](const Recorded& r) {
      if (r.path == "/v1/session/create") return Reply(R"({"ID":"sess-2"})");
      if (r.method == "GET") {
        return Canned{200, R"([{"Key":"jobs/.lock","Flags":3304740253564472344,"Session":"other","ModifyIndex":5}])",
                      5};
      }
      return Reply("true");
    });
    auto start = std::chrono::steady_clock::now();
    Run run = RunAgainst(agent, {"lock"}, {"-timeout=1200ms", "jobs", "exit 0"});
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(run.code == 1);
    CHECK(run.err == "Shutdown triggered or timeout during lock acquisition\n");
    CHECK(elapsed >= std::chrono::milliseconds(1200));
    CHECK(elapsed < std::chrono::seconds(10));
    std::vector<std::string> lines = agent.Lines();
    REQUIRE(lines.size() >= 3);
    CHECK(lines.front() == "PUT /v1/session/create");
    CHECK(lines[1] == "GET /v1/kv/jobs/.lock");
    // Later reads block on the index the agent reported.
    CHECK(lines[2].rfind("GET /v1/kv/jobs/.lock?index=5&wait=", 0) == 0);
    CHECK(lines.back() == "PUT /v1/session/destroy/sess-2");
    for (const std::string& line : lines) CHECK(line.find("acquire") == std::string::npos);
  }

  TEST_CASE("lock: a key that is not a lock is refused and the child never runs") {
    FakeAgent agent([](const Recorded& r) {
      if (r.path == "/v1/session/create") return Reply(R"({"ID":"sess-3"})");
      if (r.method == "GET") return Reply(R"([{"Key":"jobs/.lock","Flags":0,"Value":"eA=="}])");
      return Reply("true");
    });
    Run run = RunAgainst(agent, {"lock"}, {"jobs", "exit 0"});
    CHECK(run.code == 1);
    CHECK(run.err == "Lock acquisition failed: Existing key does not match lock use\n");
    CHECK(agent.Lines() == std::vector<std::string>{"PUT /v1/session/create", "GET /v1/kv/jobs/.lock",
                                                    "PUT /v1/session/destroy/sess-3"});
  }

  TEST_CASE("lock: when the agent no longer knows the session, the child is terminated and the exit is 1") {
    // Takes one renewal interval (7.5 s): the renewal is where a lost session shows.
    FakeAgent agent([](const Recorded& r) {
      if (r.path == "/v1/session/create") return Reply(R"({"ID":"sess-4"})");
      if (r.path == "/v1/session/renew/sess-4") return Reply("", 404);
      if (r.method == "GET") return Canned{404, "", 3};
      return Reply("true");
    });
    // The child leaves a grandchild behind: losing the lock must stop the whole tree.
    std::string marker = "/tmp/cairn_cli_lock_lost_" + std::to_string(getpid());
    auto start = std::chrono::steady_clock::now();
    Run run = RunAgainst(agent, {"lock"}, {"jobs", "sleep 60 & echo $! >" + marker + "; wait"});
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
    CHECK(run.code == 1);
    CHECK(run.err == "Lock lost, killed child\n");
    std::ifstream file(marker);
    int grandchild = 0;
    file >> grandchild;
    std::remove(marker.c_str());
    REQUIRE(grandchild > 0);
    CHECK(ProcessEnds(grandchild));
    std::vector<std::string> lines = agent.Lines();
    REQUIRE(lines.size() >= 4);
    CHECK(lines[3] == "PUT /v1/session/renew/sess-4");
    CHECK(lines.back() == "PUT /v1/session/destroy/sess-4");
  }

  // The semaphore's keys as Consul's lock -n writes them.
  const std::string kSemaphoreFlags = "16210313421097356768";
  std::string SemaphoreListing(const std::string& lock_value) {
    return R"([{"Key":"jobs/other","Flags":16210313421097356768,"Session":"other","ModifyIndex":4},)"
           R"({"Key":"jobs/dead","Flags":16210313421097356768,"ModifyIndex":5},)"
           R"({"Key":"jobs/.lock","Flags":16210313421097356768,"Value":")" +
           Base64Encode(lock_value) + R"(","ModifyIndex":11}])";
  }
  // An agent that creates `session`, lists `listing` under the prefix, and accepts every write.
  Answer SemaphoreAgent(std::string session, std::string listing) {
    return [session, listing](const Recorded& r) {
      if (r.path == "/v1/session/create") return Reply(R"({"ID":")" + session + R"("})");
      if (r.method == "GET") return Canned{200, listing, 11};
      return Reply("true");
    };
  }

  TEST_CASE("lock -n: contender key, a free place taken by check-and-set, dead holders pruned, clean release") {
    // "dead" is listed as a holder, but its contender key has no session any more.
    FakeAgent agent(SemaphoreAgent("sess-5", SemaphoreListing(R"({"Limit":2,"Holders":{"other":true,"dead":true}})")));
    Run run = RunAgainst(agent, {"lock"}, {"-n=2", "jobs", "exit 3"});
    CHECK(run.code == 3);
    CHECK(run.err.empty());
    CHECK(agent.Lines() == std::vector<std::string>{
                               "PUT /v1/session/create",
                               "PUT /v1/kv/jobs/sess-5?acquire=sess-5&flags=" + kSemaphoreFlags,
                               "GET /v1/kv/jobs/?recurse",
                               "PUT /v1/kv/jobs/.lock?cas=11&flags=" + kSemaphoreFlags,
                               "GET /v1/kv/jobs/?recurse",
                               "PUT /v1/kv/jobs/.lock?cas=11&flags=" + kSemaphoreFlags,
                               "DELETE /v1/kv/jobs/sess-5",
                               "PUT /v1/session/destroy/sess-5",
                           });
    std::vector<Recorded> requests = agent.Requests();
    REQUIRE(requests.size() == 8);
    CHECK(requests[3].body == R"({"Holders":{"other":true,"sess-5":true},"Limit":2})");
    // On release the list keeps the live holder and drops this session and the dead one.
    CHECK(requests[5].body == R"({"Holders":{"other":true},"Limit":2})");
  }

  TEST_CASE("lock -n: a semaphore with another limit is refused, the child never runs, the contender key goes") {
    FakeAgent agent(SemaphoreAgent("sess-6", SemaphoreListing(R"({"Limit":3,"Holders":{"other":true}})")));
    Run run = RunAgainst(agent, {"lock"}, {"-n=2", "jobs", "exit 0"});
    CHECK(run.code == 1);
    CHECK(run.err == "Lock acquisition failed: Semaphore limit conflict (lock: 3, local: 2)\n");
    CHECK(agent.Lines() == std::vector<std::string>{
                               "PUT /v1/session/create",
                               "PUT /v1/kv/jobs/sess-6?acquire=sess-6&flags=" + kSemaphoreFlags,
                               "GET /v1/kv/jobs/?recurse",
                               "DELETE /v1/kv/jobs/sess-6",
                               "PUT /v1/session/destroy/sess-6",
                           });
  }
}

}  // namespace
}  // namespace cairn::cli
