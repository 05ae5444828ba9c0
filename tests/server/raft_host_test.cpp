#include "server/raft_host.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/codec.h"
#include "common/uv_env.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;

struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() /
            ("cairn-raft-host-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
  static inline int counter = 0;
};

// Keeps every command, so a test can compare the applied history exactly.
class ListMachine final : public StateMachine {
 public:
  void Apply(raft::Index index, std::string_view command) override {
    last_index = index;
    commands.emplace_back(command);
  }
  std::string TakeSnapshot() override {
    Encoder e;
    e.PutVarint64(commands.size());
    for (const std::string& c : commands) e.PutBytes(c);
    return e.Take();
  }
  Status Restore(std::string_view image) override {
    commands.clear();
    if (image.empty()) return OkStatus();
    Decoder d(image, "list image");
    const uint64_t count = d.ReadVarint64();
    for (uint64_t i = 0; i < count && !d.HasError(); ++i) commands.emplace_back(d.ReadBytes(1 << 20));
    return d.Finish();
  }
  std::vector<std::string> commands;
  raft::Index last_index;
};

// A port for a single-node test: bind port 0 once to learn a free one.
uint16_t FreePort(UvEnv& env) {
  auto listener = env.ListenTcp(NetAddress{"127.0.0.1", 0}, [](std::unique_ptr<TcpStream>) {});
  REQUIRE(listener.IsOk());
  return (*listener)->LocalAddress().port;
}

struct Node {
  Node(const std::string& dir, uint64_t snapshot_entries, size_t pending_proposals_max = 1 << 16) {
    RaftHostOptions options;
    options.raft.id = raft::NodeId(1);
    options.raft.election_timeout_ticks = 5;
    options.peers[raft::NodeId(1)] = NetAddress{"127.0.0.1", FreePort(env)};
    options.data_dir = dir;
    options.tick_interval = 5ms;
    options.snapshot_entries = snapshot_entries;
    options.snapshot_trailing_entries = 3;
    options.pending_proposals_max = pending_proposals_max;
    auto opened = RaftHost::Open(env, logger, machine, options);
    REQUIRE_MESSAGE(opened.IsOk(), opened.GetStatus().ToString());
    host = std::move(opened).Value();
  }
  ~Node() { host.reset(); }

  void WaitLeader() {
    REQUIRE(env.RunUntil([this] { return host->IsLeader(); }, 10s));
  }

  // Proposes `n` commands all at once and waits for every callback.
  void ProposeAll(int first, int n) {
    int done = 0;
    int ok = 0;
    for (int i = first; i < first + n; ++i) {
      host->Propose("cmd-" + std::to_string(i), [&](Status s) {
        ++done;
        if (s.IsOk()) ++ok;
      });
    }
    REQUIRE(env.RunUntil([&] { return done == n; }, 10s));
    CHECK(ok == n);
  }

  UvEnv env;
  Logger logger{"s1", [] { return 0.0; }, [](std::string_view) {}};
  ListMachine machine;
  std::unique_ptr<RaftHost> host;
};

TEST_SUITE("raft.host") {
  TEST_CASE("a single replica elects itself, applies proposals in order, and batches writes") {
    TempDir dir;
    Node node(dir.path, 0);
    node.WaitLeader();
    node.ProposeAll(0, 500);
    REQUIRE(node.machine.commands.size() == 500);
    for (int i = 0; i < 500; ++i) CHECK(node.machine.commands[i] == "cmd-" + std::to_string(i));
    const RaftHostStatus status = node.host->GetStatus();
    CHECK(status.applied == status.commit);
    CHECK(status.stats.persisted_entries < 50);
    // Proposals made in one loop iteration share one entry and one synced batch.
    CHECK(status.stats.persists < 20);
    CHECK(status.stats.applied_commands == 500);

    bool read_done = false;
    node.host->ReadIndex([&](Result<raft::Index> index) {
      REQUIRE(index.IsOk());
      CHECK(*index >= node.machine.last_index);
      read_done = true;
    });
    CHECK(node.env.RunUntil([&] { return read_done; }, 5s));
  }

  TEST_CASE("a follower-less proposal on a non-leader and an empty command are refused") {
    TempDir dir;
    Node node(dir.path, 0);
    Status status;
    bool called = false;
    node.host->Propose("x", [&](Status s) {
      status = s;
      called = true;
    });
    CHECK(called);
    CHECK(status.Code() == StatusCode::kUnavailable);
    node.WaitLeader();
    node.host->Propose("", [&](Status s) { status = s; });
    CHECK(status.Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("pending proposals are bounded with a clear error") {
    TempDir dir;
    Node node(dir.path, 0, 10);
    node.WaitLeader();
    int ok = 0;
    int exhausted = 0;
    for (int i = 0; i < 25; ++i) {
      node.host->Propose("c" + std::to_string(i), [&](Status s) {
        if (s.IsOk()) ++ok;
        if (s.Code() == StatusCode::kResourceExhausted) {
          ++exhausted;
          CHECK(s.Message().find("pending_proposals_max") != std::string::npos);
        }
      });
    }
    CHECK(exhausted == 15);
    REQUIRE(node.env.RunUntil([&] { return ok == 10; }, 10s));
    node.ProposeAll(100, 10);  // the bound frees up as proposals complete
  }

  TEST_CASE("a restarted replica recovers its log and state from disk, through snapshots") {
    TempDir dir;
    {
      Node node(dir.path, 50);
      node.WaitLeader();
      // One at a time, so each command is its own log entry and the log is compacted.
      for (int i = 0; i < 160; ++i) node.ProposeAll(i, 1);
      CHECK(node.host->GetStatus().stats.snapshots_taken >= 1);
      REQUIRE(node.machine.commands.size() == 160);
    }
    Node node(dir.path, 50);
    CHECK(node.host->GetStatus().snapshot_index > raft::Index(1));
    node.WaitLeader();
    // The new term's no-op commits everything before it, which is then applied again.
    REQUIRE(node.env.RunUntil([&] { return node.machine.commands.size() == 160; }, 10s));
    node.ProposeAll(160, 10);
    REQUIRE(node.machine.commands.size() == 170);
    for (int i = 0; i < 170; ++i) CHECK(node.machine.commands[i] == "cmd-" + std::to_string(i));
  }
}

}  // namespace
}  // namespace cairn::server
