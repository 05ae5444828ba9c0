#include "server/raft_host.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/uv_env.h"
#include "tests/support/test_ports.h"

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
    ++unfinished;
  }
  void FinishApplying() override {
    unfinished = 0;
    ++finish_calls;
  }
  std::string TakeSnapshot() override {
    // A machine that defers its writes to FinishApplying must have done them by now.
    if (unfinished > 0) snapshot_while_unfinished = true;
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
  uint64_t unfinished = 0;  // commands applied since the last FinishApplying
  uint64_t finish_calls = 0;
  bool snapshot_while_unfinished = false;
};

struct Node {
  Node(const std::string& dir, uint64_t snapshot_entries, size_t pending_proposals_max = 1 << 16) {
    RaftHostOptions options;
    options.raft.id = raft::NodeId(1);
    options.raft.election_timeout_ticks = 5;
    options.peers[raft::NodeId(1)] = NetAddress{"127.0.0.1", cairn::testing::ReserveLoopbackPort()};
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

// Several replicas in one process, on one UvEnv loop, talking over real TCP on 127.0.0.1.
class Cluster {
 public:
  // `size` founding voters, and `spare` more that may join later; `election_ticks` of 10 ms
  // (node 1 campaigns at once, so a long timeout only slows re-election).
  Cluster(int size, uint32_t election_ticks, int spare = 0, uint64_t snapshot_entries = 0)
      : election_ticks_(election_ticks), snapshot_entries_(snapshot_entries), founding_(size) {
    for (int i = 1; i <= size + spare; ++i)
      addresses_[raft::NodeId(i)] = NetAddress{"127.0.0.1", cairn::testing::ReserveLoopbackPort()};
    dirs_.resize(size + spare + 1);
    machines_.resize(size + spare + 1);
    hosts_.resize(size + spare + 1);
    for (int i = 1; i <= size; ++i) Start(i);
  }
  ~Cluster() {
    for (auto& host : hosts_) host.reset();
  }

  // A founding member starts with the founding peers; a spare one joins, knowing them too.
  void Start(int i) {
    std::map<raft::NodeId, NetAddress> peers;
    for (int j = 1; j <= founding_; ++j) peers[raft::NodeId(j)] = Address(j);
    peers[raft::NodeId(i)] = Address(i);
    StartWith(i, peers, i > founding_);
  }
  void StartWith(int i, const std::map<raft::NodeId, NetAddress>& peers, bool join) {
    RaftHostOptions options;
    options.raft.id = raft::NodeId(i);
    options.raft.election_timeout_ticks = election_ticks_;
    options.raft.seed = static_cast<uint64_t>(i);
    options.peers = peers;
    options.join = join;
    options.data_dir = dirs_[i].path;
    options.tick_interval = 10ms;
    options.snapshot_entries = snapshot_entries_;
    options.snapshot_trailing_entries = 3;
    options.read_timeout_ticks = read_timeout_ticks;
    auto opened = RaftHost::Open(env, logger_, machines_[i], options);
    REQUIRE_MESSAGE(opened.IsOk(), opened.GetStatus().ToString());
    hosts_[i] = std::move(opened).Value();
  }
  void Stop(int i) { hosts_[i].reset(); }
  RaftHost& Host(int i) { return *hosts_[i]; }
  ListMachine& Machine(int i) { return machines_[i]; }
  NetAddress Address(int i) const { return addresses_.at(raft::NodeId(i)); }

  // Proposes one command on node `i` and waits for its outcome.
  Status Propose(int i, std::string command) {
    std::optional<Status> outcome;
    Host(i).Propose(std::move(command), [&](Status s) { outcome = s; });
    if (!env.RunUntil([&] { return outcome.has_value(); }, 10s)) return Status::Timeout("proposal");
    return *outcome;
  }
  // Runs a membership change on node `i` and waits for its outcome.
  Status Change(int i, const std::function<void(RaftHost&, RaftHost::ChangeFn)>& start) {
    std::optional<Status> outcome;
    start(Host(i), [&](Status s) { outcome = s; });
    if (!env.RunUntil([&] { return outcome.has_value(); }, 20s)) return Status::Timeout("membership change");
    return *outcome;
  }

  // Waits for a leader (node 1 campaigns, in case the election timeout is long) and commits one
  // command, so every replica knows it. Returns the leader.
  int ElectAndCommit() {
    // Votes sent before the peer connections are up are lost: campaign again until elected.
    for (int attempt = 0; attempt < 50 && LeaderIndex() == 0; ++attempt) {
      (void)Host(1).Campaign();
      env.RunUntil([&] { return LeaderIndex() != 0; }, 200ms);
    }
    const int leader = LeaderIndex();
    REQUIRE(leader != 0);
    bool done = false;
    Host(leader).Propose("first", [&](Status s) {
      CHECK(s.IsOk());
      done = true;
    });
    REQUIRE(env.RunUntil([&] { return done && AllKnowLeader(leader); }, 10s));
    return leader;
  }
  int LeaderIndex() {
    for (size_t j = 1; j < hosts_.size(); ++j) {
      if (hosts_[j] && hosts_[j]->IsLeader()) return static_cast<int>(j);
    }
    return 0;
  }
  bool AllKnowLeader(int leader) {
    for (size_t j = 1; j < hosts_.size(); ++j) {
      if (hosts_[j] && hosts_[j]->Leader() != raft::NodeId(leader)) return false;
    }
    return true;
  }

  // Issues a read on node `i`; the result lands in the returned slot.
  std::shared_ptr<std::optional<Result<raft::Index>>> Read(int i) {
    auto slot = std::make_shared<std::optional<Result<raft::Index>>>();
    Host(i).ReadIndex([slot](Result<raft::Index> r) { *slot = std::move(r); });
    return slot;
  }

  UvEnv env;
  uint32_t read_timeout_ticks = 100;

 private:
  uint32_t election_ticks_;
  uint64_t snapshot_entries_;
  int founding_;
  Logger logger_{"cluster", [] { return 0.0; }, [](std::string_view) {}};
  std::map<raft::NodeId, NetAddress> addresses_;
  std::vector<TempDir> dirs_;
  std::vector<ListMachine> machines_;
  std::vector<std::unique_ptr<RaftHost>> hosts_;
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

  TEST_CASE("every run of applied commands is finished before a snapshot, and on replay after a restart") {
    TempDir compacted;
    {
      Node node(compacted.path, 20);
      node.WaitLeader();
      for (int i = 0; i < 30; ++i) node.ProposeAll(i, 1);  // an entry each, so snapshots are taken
      node.ProposeAll(30, 40);                             // and runs of many commands
      CHECK(node.host->GetStatus().stats.snapshots_taken >= 1);
      CHECK_FALSE(node.machine.snapshot_while_unfinished);
      CHECK(node.machine.unfinished == 0);
    }
    TempDir replayed;
    {
      Node first(replayed.path, 0);
      first.WaitLeader();
      first.ProposeAll(0, 40);
    }
    Node node(replayed.path, 0);
    REQUIRE(node.machine.commands.empty());  // no snapshot: the whole log is applied again
    node.WaitLeader();
    // The predicate runs only with control back on the loop: by then the replay is finished.
    REQUIRE(node.env.RunUntil([&] { return node.machine.commands.size() == 40; }, 10s));
    CHECK(node.machine.unfinished == 0);
    CHECK(node.machine.finish_calls > 0);
  }

  TEST_CASE("reads pending on a follower fail promptly when the leader dies, then succeed again") {
    Cluster cluster(3, 30);
    const int leader = cluster.ElectAndCommit();
    const int follower = leader % 3 + 1;
    auto pending = cluster.Read(follower);
    cluster.Stop(leader);  // before the forwarded request leaves, or before its answer comes back
    REQUIRE(cluster.env.RunUntil([&] { return pending->has_value(); }, 5s));
    REQUIRE_FALSE((*pending)->IsOk());
    const StatusCode code = (*pending)->GetStatus().Code();
    CHECK((code == StatusCode::kAborted || code == StatusCode::kUnavailable));

    // The survivors elect a leader; a retried read on the same follower is served.
    REQUIRE(cluster.env.RunUntil([&] { return cluster.LeaderIndex() != 0; }, 10s));
    std::shared_ptr<std::optional<Result<raft::Index>>> retried;
    REQUIRE(cluster.env.RunUntil(
        [&] {
          if (retried && retried->has_value() && (*retried)->IsOk()) return true;
          if (!retried || retried->has_value()) retried = cluster.Read(follower);
          return false;
        },
        10s));
  }

  TEST_CASE("a read whose request is lost fails after read_timeout_ticks; last contact grows") {
    // Followers that would wait 50 s before electing (node 1 is made leader by Campaign): the
    // leader's death changes nothing they can see, so only the read timeout can end the read.
    Cluster cluster(3, 5000);
    cluster.read_timeout_ticks = 20;
    cluster.Stop(2);
    cluster.Start(2);  // takes the shorter read timeout
    REQUIRE(cluster.ElectAndCommit() == 1);
    CHECK(cluster.Host(1).GetStatus().last_contact_ms == 0);
    REQUIRE(cluster.env.RunUntil([&] { return cluster.Host(2).GetStatus().last_contact_ms < 100; }, 5s));
    cluster.Stop(1);
    auto pending = cluster.Read(2);
    REQUIRE(cluster.env.RunUntil([&] { return pending->has_value(); }, 5s));
    REQUIRE_FALSE((*pending)->IsOk());
    CHECK((*pending)->GetStatus().Code() == StatusCode::kUnavailable);
    CHECK((*pending)->GetStatus().Message().find("read_timeout_ticks") != std::string::npos);
    CHECK(cluster.Host(2).Leader() == raft::NodeId(1));  // no leader change ended it
    // 20 ticks of 10 ms passed at least since the leader's last message.
    CHECK(cluster.Host(2).GetStatus().last_contact_ms >= 200);
  }

  TEST_CASE("a server joins as a learner, is promoted once caught up, a voter is removed; addresses survive restart") {
    Cluster cluster(3, 60, 1, 20);  // snapshots every 20 entries: the new server starts from one
    const int leader = cluster.ElectAndCommit();
    for (int i = 0; i < 60; ++i) REQUIRE(cluster.Propose(leader, "cmd-" + std::to_string(i)).IsOk());

    cluster.Start(4);  // joins with an empty log
    const NetAddress address4 = cluster.Address(4);
    REQUIRE(
        cluster
            .Change(leader, [&](RaftHost& h, RaftHost::ChangeFn done) { h.AddServer(raft::NodeId(4), address4, done); })
            .IsOk());
    CHECK(cluster.Host(4).GetStatus().stats.snapshots_restored >= 1);
    auto all_voters = [&](int i) {
      const std::vector<RaftServer> servers = cluster.Host(i).Configuration();
      return servers.size() == 4 &&
             std::all_of(servers.begin(), servers.end(), [](const RaftServer& s) { return s.voter; });
    };
    // Server 4 applies its own promotion once the leader's next message tells it the commit.
    REQUIRE(cluster.env.RunUntil(
        [&] { return all_voters(4) && cluster.Machine(4).commands == cluster.Machine(leader).commands; }, 10s));
    CHECK(all_voters(leader));
    for (int i : {leader, 4}) {
      const std::vector<RaftServer> servers = cluster.Host(i).Configuration();
      for (const RaftServer& server : servers) {
        CHECK(server.address.ToString() == cluster.Address(static_cast<int>(server.id.value)).ToString());
      }
    }
    // The same change twice, or a second change while one runs, is refused.
    CHECK(
        cluster
            .Change(leader, [&](RaftHost& h, RaftHost::ChangeFn done) { h.AddServer(raft::NodeId(4), address4, done); })
            .Code() == StatusCode::kAlreadyExists);

    // Remove a founding follower and shut it down: the other three keep committing.
    const int removed = leader % 3 + 1;
    const int other = 6 - leader - removed;
    REQUIRE(
        cluster
            .Change(leader, [&](RaftHost& h, RaftHost::ChangeFn done) { h.RemoveServer(raft::NodeId(removed), done); })
            .IsOk());
    cluster.Stop(removed);
    REQUIRE(cluster.Propose(leader, "after-removal").IsOk());
    CHECK(cluster.Host(leader).Configuration().size() == 3);

    // With `other` down too, removing 4 would leave {leader, other}: not a reachable quorum.
    cluster.Stop(other);
    REQUIRE(
        cluster.env.RunUntil([&] { return !cluster.Host(leader).Transport().IsConnected(raft::NodeId(other)); }, 5s));
    const Status unsafe =
        cluster.Change(leader, [&](RaftHost& h, RaftHost::ChangeFn done) { h.RemoveServer(raft::NodeId(4), done); });
    CHECK(unsafe.Code() == StatusCode::kFailedPrecondition);
    CHECK(unsafe.Message().find("quorum") != std::string::npos);
    cluster.Start(other);

    // Restarted knowing only its own address, server 4 finds the others from its durable state.
    cluster.Stop(4);
    cluster.StartWith(4, {{raft::NodeId(4), address4}}, false);
    for (const RaftServer& server : cluster.Host(4).Configuration()) {
      CHECK(server.address.ToString() == cluster.Address(static_cast<int>(server.id.value)).ToString());
    }
    REQUIRE(cluster.env.RunUntil([&] { return cluster.LeaderIndex() != 0; }, 10s));
    const int now_leader = cluster.LeaderIndex();
    REQUIRE(cluster.Propose(now_leader, "after-restart").IsOk());
    REQUIRE(cluster.env.RunUntil(
        [&] { return !cluster.Machine(4).commands.empty() && cluster.Machine(4).commands.back() == "after-restart"; },
        10s));
  }
}

}  // namespace
}  // namespace cairn::server
