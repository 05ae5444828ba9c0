// Three CatalogServers in one process on one UvEnv loop, over real TCP on 127.0.0.1, each with
// its own RocksDB state store and Raft log in a temporary directory.
#include "server/catalog_server.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/uv_env.h"
#include "tests/support/test_ports.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;
using catalog::Command;
using catalog::CommandResult;
using catalog::KvOp;
using catalog::KvVerb;
using catalog::OutcomeCode;

struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() /
            ("cairn-catalog-server-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
  static inline int counter = 0;
};

KvOp Kv(KvVerb verb, std::string key, std::string value = {}, uint64_t index = 0, std::string session = {}) {
  return KvOp{verb, std::move(key), std::move(value), 0, catalog::RaftIndex(index), std::move(session)};
}

class Cluster {
 public:
  explicit Cluster(const std::function<void(CatalogServerOptions&)>& tune = {}) : tune_(tune) {
    for (int i = 1; i <= 3; ++i)
      peers_[raft::NodeId(i)] = NetAddress{"127.0.0.1", cairn::testing::ReserveLoopbackPort()};
    for (int i = 1; i <= 3; ++i) Start(i);
  }
  ~Cluster() {
    for (auto& server : servers_) server.reset();
  }

  void Start(int i) {
    CatalogServerOptions options;
    options.raft.raft.id = raft::NodeId(i);
    options.raft.raft.election_timeout_ticks = 10;
    options.raft.raft.seed = static_cast<uint64_t>(i);
    options.raft.peers = peers_;
    options.raft.tick_interval = 10ms;
    options.raft.snapshot_entries = 0;  // keep the whole log: a restart could replay all of it
    options.data_dir = dirs_[i].path;
    options.session_check_interval = 20ms;
    if (tune_) tune_(options);
    auto opened = CatalogServer::Open(env, logger_, options);
    REQUIRE_MESSAGE(opened.IsOk(), opened.GetStatus().ToString());
    servers_[i] = std::move(opened).Value();
  }
  void Stop(int i) { servers_[i].reset(); }
  CatalogServer& At(int i) { return *servers_[i]; }

  int Leader() {
    for (int i = 1; i <= 3; ++i) {
      if (servers_[i] && servers_[i]->Raft().IsLeader()) return i;
    }
    return 0;
  }
  int Elect() {
    // Votes sent before the peer connections are up are lost: campaign until elected.
    for (int attempt = 0; attempt < 50 && Leader() == 0; ++attempt) {
      (void)At(1).Raft().Campaign();
      env.RunUntil([&] { return Leader() != 0; }, 200ms);
    }
    REQUIRE(Leader() != 0);
    return Leader();
  }

  // A write at replica i through `method` (Write, or WriteViaLeader), waited for.
  using WriteMethod = void (CatalogServer::*)(Command, CatalogServer::WriteFn);
  Result<CommandResult> Write(int i, catalog::CommandBody body, WriteMethod method = &CatalogServer::Write) {
    std::optional<Result<CommandResult>> slot;
    (At(i).*method)(Command{env.WallMillis(), std::move(body)}, [&](Result<CommandResult> r) { slot = std::move(r); });
    REQUIRE(env.RunUntil([&] { return slot.has_value(); }, 20s));
    return std::move(*slot);
  }
  Result<CommandResult> WriteVia(int i, catalog::CommandBody body) {
    return Write(i, std::move(body), &CatalogServer::WriteViaLeader);
  }

  // Every running replica knows `leader` (a follower learns it from the first append).
  void WaitLeaderKnown(int leader) {
    REQUIRE(env.RunUntil(
        [&] {
          for (int i = 1; i <= 3; ++i) {
            if (servers_[i] && servers_[i]->Raft().Leader() != raft::NodeId(leader)) return false;
          }
          return true;
        },
        10s));
  }

  // A write at the leader that must be applied with an OK outcome.
  CommandResult MustWrite(catalog::CommandBody body) {
    Result<CommandResult> r = Write(Leader(), std::move(body));
    REQUIRE_MESSAGE(r.IsOk(), r.GetStatus().ToString());
    REQUIRE_MESSAGE(r->outcome.Ok(), r->outcome.message);
    return *r;
  }

  // Every running replica holds exactly the leader's state.
  bool Converged() {
    const std::string image = At(Leader()).Store().Snapshot();
    for (int i = 1; i <= 3; ++i) {
      if (servers_[i] && servers_[i]->Store().Snapshot() != image) return false;
    }
    return true;
  }
  void WaitConverged() {
    REQUIRE(env.RunUntil([&] { return Converged(); }, 10s));
  }

  UvEnv env;

 private:
  std::function<void(CatalogServerOptions&)> tune_;
  Logger logger_{"cluster", [] { return 0.0; }, [](std::string_view) {}};
  std::map<raft::NodeId, NetAddress> peers_;
  TempDir dirs_[4];
  std::unique_ptr<CatalogServer> servers_[4];
};

catalog::Registration NodeA() {
  catalog::Registration r;
  r.node.name = "node-a";
  r.node.address = "10.0.0.1";
  catalog::Service web;
  web.node = "node-a";
  web.id = "web-1";
  web.name = "web";
  web.port = 80;
  r.service = web;
  return r;
}

catalog::Session TtlSession(const std::string& id, int64_t lock_delay_millis) {
  catalog::Session s;
  s.id = id;
  s.node = "node-a";
  s.ttl_millis = 10'000;  // the minimum TTL; scaled down by the test option
  s.lock_delay_millis = lock_delay_millis;
  return s;
}

TEST_SUITE("server.catalog_server") {
  TEST_CASE("writes through the leader reach every replica identically; followers refuse writes") {
    Cluster cluster;
    const int leader = cluster.Elect();
    cluster.MustWrite(catalog::RegisterCommand{NodeA()});
    for (int i = 0; i < 20; ++i) cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "k/" + std::to_string(i), "v")});
    const CommandResult txn =
        cluster.MustWrite(catalog::TxnCommand{{Kv(KvVerb::kSet, "t/1", "a"), Kv(KvVerb::kGet, "k/3")}});
    REQUIRE(txn.txn.has_value());
    CHECK(txn.txn->results.size() == 2);

    // A failed CAS is an outcome every replica reaches, not an error.
    const uint64_t modify = cluster.At(leader).Store().KvGet("k/0").value->modify_index.value;
    Result<CommandResult> cas = cluster.Write(leader, catalog::KvCommand{Kv(KvVerb::kCas, "k/0", "new", modify + 100)});
    REQUIRE(cas.IsOk());
    CHECK(cas->outcome.code == OutcomeCode::kRejected);
    Result<CommandResult> good = cluster.Write(leader, catalog::KvCommand{Kv(KvVerb::kCas, "k/0", "new", modify)});
    REQUIRE(good.IsOk());
    CHECK(good->outcome.Ok());

    cluster.WaitConverged();
    for (int i = 1; i <= 3; ++i) {
      CHECK(cluster.At(i).Store().KvGet("k/0").value->value == "new");
      CHECK(cluster.At(i).Store().KvList("k/").value.size() == 20);
      CHECK(cluster.At(i).Store().NodeServices("node-a").value.size() == 1);
      CHECK(cluster.At(i).Store().AppliedIndex() == good->index);
    }

    const int follower = leader % 3 + 1;
    Result<CommandResult> refused = cluster.Write(follower, catalog::KvCommand{Kv(KvVerb::kSet, "x", "y")});
    REQUIRE(!refused.IsOk());
    CHECK(refused.GetStatus().Code() == StatusCode::kUnavailable);

    // A command no replica could decode is refused before it reaches the log.
    Result<CommandResult> oversized = cluster.Write(
        leader, catalog::KvCommand{Kv(KvVerb::kSet, std::string(catalog::limits::kKvKeyBytesMax + 1, 'k'), "v")});
    REQUIRE(!oversized.IsOk());
    CHECK(oversized.GetStatus().Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("a read barrier on a follower makes the last acknowledged write visible there") {
    Cluster cluster;
    const int leader = cluster.Elect();
    const int follower = leader % 3 + 1;
    for (int round = 0; round < 20; ++round) {
      const std::string value = "v" + std::to_string(round);
      cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "key", value)});
      std::optional<Status> barrier;
      cluster.At(follower).ReadBarrier([&](Status s) { barrier = s; });
      REQUIRE(cluster.env.RunUntil([&] { return barrier.has_value(); }, 10s));
      REQUIRE_MESSAGE(barrier->IsOk(), barrier->ToString());
      CHECK(cluster.At(follower).Store().KvGet("key").value->value == value);
    }
  }

  TEST_CASE("a write on a follower goes to the leader over the peer link and is answered once applied there") {
    Cluster cluster;
    const int leader = cluster.Elect();
    const int follower = leader % 3 + 1;
    cluster.WaitLeaderKnown(leader);
    for (int round = 0; round < 20; ++round) {
      const std::string value = "v" + std::to_string(round);
      Result<CommandResult> written = cluster.WriteVia(follower, catalog::KvCommand{Kv(KvVerb::kSet, "key", value)});
      REQUIRE_MESSAGE(written.IsOk(), written.GetStatus().ToString());
      CHECK(written->outcome.Ok());
      // Answered from the follower's own apply: a read there sees the write at once.
      CHECK(cluster.At(follower).Store().AppliedIndex() >= written->index);
      CHECK(cluster.At(follower).Store().KvGet("key").value->value == value);
      CHECK(cluster.At(follower).Store().KvGet("key").value->modify_index == written->index);
    }
    // A rejected CAS is a result the follower reaches too, not an error.
    Result<CommandResult> cas = cluster.WriteVia(follower, catalog::KvCommand{Kv(KvVerb::kCas, "key", "x", 1)});
    REQUIRE(cas.IsOk());
    CHECK(cas->outcome.code == OutcomeCode::kRejected);

    // Many at once: each caller gets its own write's result.
    std::map<int, Result<CommandResult>> results;
    for (int i = 0; i < 50; ++i) {
      cluster.At(follower).WriteViaLeader(
          Command{cluster.env.WallMillis(), catalog::KvCommand{Kv(KvVerb::kSet, "many/" + std::to_string(i), "v")}},
          [&results, i](Result<CommandResult> r) { results.emplace(i, std::move(r)); });
    }
    REQUIRE(cluster.env.RunUntil([&] { return results.size() == 50; }, 10s));
    std::set<uint64_t> indexes;
    for (auto& [i, r] : results) {
      REQUIRE_MESSAGE(r.IsOk(), r.GetStatus().ToString());
      CHECK(cluster.At(follower).Store().KvGet("many/" + std::to_string(i)).value->modify_index == r->index);
      indexes.insert(r->index.value);
    }
    CHECK(indexes.size() == 50);
    cluster.WaitConverged();

    // On the leader it is a plain Write; a command no replica could decode never leaves.
    Result<CommandResult> here = cluster.WriteVia(leader, catalog::KvCommand{Kv(KvVerb::kSet, "here", "v")});
    REQUIRE(here.IsOk());
    Result<CommandResult> oversized = cluster.WriteVia(
        follower, catalog::KvCommand{Kv(KvVerb::kSet, std::string(catalog::limits::kKvKeyBytesMax + 1, 'k'), "v")});
    REQUIRE(!oversized.IsOk());
    CHECK(oversized.GetStatus().Code() == StatusCode::kInvalidArgument);
  }

  TEST_CASE("a leader that cannot take a forwarded write says so at once") {
    // One proposal at a time at the leader: most of a burst is refused there.
    Cluster cluster([](CatalogServerOptions& options) { options.raft.pending_proposals_max = 1; });
    const int leader = cluster.Elect();
    const int follower = leader % 3 + 1;
    cluster.WaitLeaderKnown(leader);
    std::vector<Result<CommandResult>> results;
    for (int i = 0; i < 20; ++i) {
      cluster.At(follower).WriteViaLeader(
          Command{cluster.env.WallMillis(), catalog::KvCommand{Kv(KvVerb::kSet, "k" + std::to_string(i), "v")}},
          [&results](Result<CommandResult> r) { results.push_back(std::move(r)); });
    }
    // Well inside forward_timeout (10 s): refusals are answered, not waited out.
    REQUIRE(cluster.env.RunUntil([&] { return results.size() == 20; }, 3s));
    int ok = 0, refused = 0;
    for (const auto& r : results) {
      if (r.IsOk()) {
        ++ok;
      } else {
        CHECK_MESSAGE(r.GetStatus().Code() == StatusCode::kResourceExhausted, r.GetStatus().ToString());
        ++refused;
      }
    }
    CHECK(ok >= 1);
    CHECK(refused >= 1);
  }

  TEST_CASE("a write forwarded to a leader that died is answered outcome-unknown, not left waiting") {
    Cluster cluster([](CatalogServerOptions& options) { options.forward_timeout = 2s; });
    const int leader = cluster.Elect();
    const int follower = leader % 3 + 1;
    cluster.WaitLeaderKnown(leader);
    REQUIRE(cluster.WriteVia(follower, catalog::KvCommand{Kv(KvVerb::kSet, "before", "v")}).IsOk());
    cluster.Stop(leader);
    std::optional<Result<CommandResult>> lost;
    cluster.At(follower).WriteViaLeader(
        Command{cluster.env.WallMillis(), catalog::KvCommand{Kv(KvVerb::kSet, "k", "v")}},
        [&](Result<CommandResult> r) { lost = std::move(r); });
    REQUIRE(cluster.env.RunUntil([&] { return lost.has_value(); }, 5s));
    REQUIRE(!lost->IsOk());
    const StatusCode code = lost->GetStatus().Code();
    CHECK_MESSAGE((code == StatusCode::kUnavailable || code == StatusCode::kAborted || code == StatusCode::kTimeout),
                  lost->GetStatus().ToString());
  }

  TEST_CASE("a TTL session expires at twice its TTL, releasing its lock under lock-delay; renewal keeps one") {
    // 10 s TTL scaled to 100 ms: expiry after 200 ms without a renewal.
    Cluster cluster([](CatalogServerOptions& o) { o.session_ttl_scale = 0.01; });
    const int leader = cluster.Elect();
    const int follower = leader % 3 + 1;
    cluster.MustWrite(catalog::RegisterCommand{NodeA()});
    const CommandResult created = cluster.MustWrite(catalog::SessionCreateCommand{TtlSession("doomed", 60'000)});
    CHECK(created.session_id == "doomed");
    cluster.MustWrite(catalog::SessionCreateCommand{TtlSession("renewed", 0)});
    cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kLock, "lock", "held", 0, "doomed")});

    // Well before twice the TTL, the session is alive.
    cluster.env.RunUntil([] { return false; }, 60ms);
    CHECK(cluster.At(leader).Store().SessionInfo("doomed").value.has_value());

    CHECK(cluster.At(follower).RenewSession("renewed").GetStatus().Code() == StatusCode::kUnavailable);
    CHECK(cluster.At(leader).RenewSession("no-such").GetStatus().Code() == StatusCode::kNotFound);
    // Renew "renewed" every 50 ms for 600 ms: three times its scaled lifetime.
    for (int i = 0; i < 12; ++i) {
      REQUIRE(cluster.At(leader).RenewSession("renewed").IsOk());
      cluster.env.RunUntil([] { return false; }, 50ms);
    }
    cluster.WaitConverged();
    for (int i = 1; i <= 3; ++i) {
      const catalog::StateStore& store = cluster.At(i).Store();
      CHECK(!store.SessionInfo("doomed").value.has_value());
      CHECK(store.SessionInfo("renewed").value.has_value());
      const auto lock = store.KvGet("lock").value;
      REQUIRE(lock.has_value());
      CHECK(lock->session.empty());
      CHECK(store.KvLockDelayUntil("lock") > 0);
    }
    // The lock-delay holds off a new holder.
    Result<CommandResult> grab =
        cluster.Write(leader, catalog::KvCommand{Kv(KvVerb::kLock, "lock", "mine", 0, "renewed")});
    REQUIRE(grab.IsOk());
    CHECK(grab->outcome.code == OutcomeCode::kLockDelay);

    // Without renewals, the other session expires too.
    REQUIRE(
        cluster.env.RunUntil([&] { return !cluster.At(leader).Store().SessionInfo("renewed").value.has_value(); }, 5s));
  }

  TEST_CASE("a new leader restarts session timers in full") {
    Cluster cluster([](CatalogServerOptions& o) { o.session_ttl_scale = 0.05; });  // 1 s lifetime
    const int leader = cluster.Elect();
    cluster.MustWrite(catalog::RegisterCommand{NodeA()});
    cluster.MustWrite(catalog::SessionCreateCommand{TtlSession("s", 0)});
    cluster.WaitConverged();
    cluster.env.RunUntil([] { return false; }, 600ms);
    cluster.Stop(leader);
    REQUIRE(cluster.env.RunUntil([&] { return cluster.Leader() != 0; }, 10s));
    const int next = cluster.Leader();
    // The old leader's timer would have fired 400 ms from the stop; the new one gives a full second.
    cluster.env.RunUntil([] { return false; }, 500ms);
    CHECK(cluster.At(next).Store().SessionInfo("s").value.has_value());
    REQUIRE(cluster.env.RunUntil([&] { return !cluster.At(next).Store().SessionInfo("s").value.has_value(); }, 5s));
  }

  TEST_CASE("a restarted replica resumes from its applied index instead of replaying the log") {
    Cluster cluster;
    const int leader = cluster.Elect();
    for (int i = 0; i < 50; ++i) cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "a/" + std::to_string(i), "v")});
    cluster.WaitConverged();
    const int follower = leader % 3 + 1;
    const catalog::RaftIndex before = cluster.At(follower).Store().AppliedIndex();
    cluster.Stop(follower);
    for (int i = 0; i < 20; ++i) cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "b/" + std::to_string(i), "v")});

    cluster.Start(follower);
    CHECK(cluster.At(follower).Store().AppliedIndex() == before);
    // The host resumes at the store's applied index (less at most the lazily synced commit
    // lag), not at the log's snapshot.
    CHECK(cluster.At(follower).Raft().Applied() > raft::Index(before.value - 10));
    cluster.WaitConverged();
    CHECK(cluster.At(follower).Store().KvList("a/").value.size() == 50);
    CHECK(cluster.At(follower).Store().KvList("b/").value.size() == 20);
    // Only the 20 writes it missed were applied after the restart, not all 70 again.
    CHECK(cluster.At(follower).AppliedCommands() == 20);
    CHECK(cluster.At(follower).Raft().GetStatus().stats.applied_commands < 40);
  }

  TEST_CASE("a run of concurrent writes, one rejected, is written whole before the loop moves on") {
    Cluster cluster;
    const int leader = cluster.Elect();
    cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "cas", "v")});
    // Sent together, they share Raft entries and reach each store as one group.
    int answered = 0;
    int rejected = 0;
    for (int i = 0; i < 40; ++i) {
      catalog::KvOp op =
          i == 20 ? Kv(KvVerb::kCas, "cas", "stale", 999) : Kv(KvVerb::kSet, "g/" + std::to_string(i), "v");
      cluster.At(leader).Write(Command{cluster.env.WallMillis(), catalog::KvCommand{op}}, [&](Result<CommandResult> r) {
        REQUIRE(r.IsOk());
        ++answered;
        if (r->outcome.code == OutcomeCode::kRejected) ++rejected;
      });
    }
    REQUIRE(cluster.env.RunUntil([&] { return answered == 40; }, 10s));
    CHECK(rejected == 1);
    cluster.WaitConverged();
    for (int i = 1; i <= 3; ++i) {
      CHECK_FALSE(cluster.At(i).Store().GroupOpen());
      CHECK(cluster.At(i).Store().WrittenAppliedIndex() == cluster.At(i).Store().AppliedIndex());
    }
    const int follower = leader % 3 + 1;
    const catalog::RaftIndex before = cluster.At(follower).Store().AppliedIndex();
    cluster.Stop(follower);
    cluster.Start(follower);
    CHECK(cluster.At(follower).Store().AppliedIndex() == before);
    CHECK(cluster.At(follower).Store().KvList("g/").value.size() == 39);
    CHECK(cluster.At(follower).Store().KvGet("cas").value->value == "v");
  }

  TEST_CASE("tombstones older than tombstone_ttl are reaped on every replica") {
    Cluster cluster([](CatalogServerOptions& o) {
      o.tombstone_ttl = 300ms;
      o.reap_interval = 50ms;
    });
    cluster.Elect();
    cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "gone/x", "v")});
    const CommandResult deleted = cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kDelete, "gone/x")});
    // A later write elsewhere moves the KV table index past the tombstone.
    const CommandResult later = cluster.MustWrite(catalog::KvCommand{Kv(KvVerb::kSet, "kept", "v")});
    cluster.WaitConverged();
    // While the tombstone lives, a list of its prefix reports the delete's index...
    for (int i = 1; i <= 3; ++i) CHECK(cluster.At(i).Store().KvList("gone/").index == deleted.index);
    // ...and once it is reaped, the KV table's.
    REQUIRE(cluster.env.RunUntil(
        [&] {
          for (int i = 1; i <= 3; ++i) {
            if (cluster.At(i).Store().KvList("gone/").index < later.index) return false;
          }
          return true;
        },
        10s));
    cluster.WaitConverged();
  }
}

}  // namespace
}  // namespace cairn::server
