#include <rocksdb/db.h>

#include <algorithm>

#include "catalog/records.h"
#include "common/codec.h"
#include "common/crc32c.h"
#include "tests/catalog/catalog_test_util.h"

namespace cairn::catalog {
namespace {

using testing::Fixture;
using testing::OpenOrDie;
using testing::TempDir;

// Reads or overwrites a raw record in the RocksDB underneath, as disk damage would.
std::string RawGet(const std::string& dir, const std::string& key) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  REQUIRE(db->Get(rocksdb::ReadOptions(), key, &value).ok());
  return value;
}

void RawPut(const std::string& dir, const std::string& key, const std::string& value) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  REQUIRE(db->Put(rocksdb::WriteOptions(), key, value).ok());
}

// A state with something in every table.
void Populate(Fixture& f) {
  Registration r;
  r.node.name = "n1";
  r.node.address = "10.0.0.1";
  r.node.tagged_addresses = {{"wan", "1.2.3.4"}};
  Service s;
  s.id = "web-1";
  s.name = "web";
  s.tags = {"v1"};
  s.port = 80;
  s.meta = {{"version", "1.2"}};
  s.enable_tag_override = true;
  r.service = s;
  Check c;
  c.check_id = "serfHealth";
  c.status = HealthStatus::kPassing;
  c.output = "alive";
  r.checks = {c};
  REQUIRE(f.Register(r).Ok());
  REQUIRE(f.CreateSession("s1", "n1", {"serfHealth"}).Ok());
  REQUIRE(f.CreateSession("s2", "n1").Ok());
  REQUIRE(f.Set("config/a", std::string("bin\0ary", 7), 7).Ok());
  REQUIRE(f.Set("config/b", "gone").Ok());
  REQUIRE(f.Delete("config/b").Ok());
  REQUIRE(f.Lock("leader", "s1").Ok());
  REQUIRE(f.Lock("delayed", "s2").Ok());
  REQUIRE(f.DestroySession("s2").Ok());
}

void CheckPopulated(StateStore& store) {
  CHECK(store.AppliedIndex() == RaftIndex(9));
  CHECK(store.TableIndex(Table::kKv) == RaftIndex(9));
  CHECK(store.TableIndex(Table::kNodes) == RaftIndex(1));
  auto a = store.KvGet("config/a");
  REQUIRE(a.value);
  CHECK(a.value->value == std::string("bin\0ary", 7));
  CHECK(a.value->flags == 7);
  CHECK(store.KvList("config/").index == RaftIndex(6));  // the tombstone of config/b
  CHECK(store.KvGet("leader").value->session == "s1");
  CHECK(store.KvGet("leader").value->lock_index == 1);
  CHECK(store.KvLockDelayUntil("delayed") == 1'000'000 + 15000);
  auto svc = store.NodeServices("n1").value;
  REQUIRE(svc.size() == 1);
  CHECK(svc[0].meta.at("version") == "1.2");
  CHECK(svc[0].enable_tag_override);
  CHECK(store.GetNode("n1").value->tagged_addresses.at("wan") == "1.2.3.4");
  CHECK(store.NodeChecks("n1").value.at(0).output == "alive");
  CHECK(store.SessionInfo("s1").value->checks == std::vector<std::string>{"serfHealth"});
  CHECK_FALSE(store.SessionInfo("s2").value);
  CHECK(store.ServiceNodes("web").value.size() == 1);
}

// Command number `i` of a fixed script touching every kind of command; commands are pure
// functions of their number so a replica can resume the script anywhere.
void ApplyScriptStep(StateStore& store, uint64_t i) {
  const RaftIndex index(i);
  const int64_t now = static_cast<int64_t>(i) * 1000;
  const std::string n = std::to_string(i % 7);
  switch (i % 6) {
    case 0: {
      Registration r;
      r.node.name = "node" + std::to_string((i / 6) % 3);
      Check c;
      c.check_id = "serfHealth";
      c.status = i % 4 == 0 ? HealthStatus::kCritical : HealthStatus::kPassing;
      r.checks = {c};
      REQUIRE(store.Register(index, now, r).IsOk());
      break;
    }
    case 1: {
      Session s;
      s.id = "s" + std::to_string(i);
      s.node = "node" + std::to_string((i / 6) % 3);
      s.checks = {"serfHealth"};
      s.lock_delay_millis = 2000;
      s.behavior = i % 2 ? SessionBehavior::kDelete : SessionBehavior::kRelease;
      REQUIRE(store.SessionCreate(index, s).IsOk());
      break;
    }
    case 2:
      REQUIRE(store.ApplyKv(index, now, {KvVerb::kLock, "lock/" + n, "v", 0, {}, "s" + std::to_string(i - 1)}).IsOk());
      break;
    case 3: REQUIRE(store.ApplyKv(index, now, {KvVerb::kSet, "data/" + n, std::to_string(i), i, {}, {}}).IsOk()); break;
    case 4: REQUIRE(store.SessionDestroy(index, now, "s" + std::to_string(i - 9)).IsOk()); break;
    case 5: {
      std::vector<TxnOp> ops{KvOp{KvVerb::kDelete, "data/" + std::to_string((i + 3) % 7), {}, 0, {}, {}},
                             KvOp{KvVerb::kCas, "cas/" + n, "c", 0, RaftIndex(i % 2 ? 0 : i - 6), {}}};
      REQUIRE(store.Txn(index, now, ops).IsOk());
      break;
    }
  }
}

TEST_SUITE("catalog.persistence") {
  TEST_CASE("a reopened store has every table, index and applied index back") {
    Fixture f;
    Populate(f);
    CheckPopulated(*f.store);
    f.store.reset();
    auto reopened = OpenOrDie(f.dir.path);
    CheckPopulated(*reopened);
    // The secondary indexes came back too: destroying s1 releases the lock it holds.
    REQUIRE(reopened->SessionDestroy(RaftIndex(10), 2'000'000, "s1")->Ok());
    CHECK(reopened->KvGet("leader").value->session.empty());
    CHECK(reopened->ApplyKv(RaftIndex(10), 0, {KvVerb::kSet, "x", "y", 0, {}, {}}).GetStatus().Code() ==
          StatusCode::kFailedPrecondition);
  }

  TEST_CASE("a rejected command's index is durable too") {
    Fixture f;
    REQUIRE(f.Set("k", "v").Ok());
    REQUIRE(f.Cas("k", "x", 42).code == OutcomeCode::kRejected);
    f.store.reset();
    auto reopened = OpenOrDie(f.dir.path);
    CHECK(reopened->AppliedIndex() == RaftIndex(2));
    CHECK(reopened->KvGet("k").value->value == "v");
  }

  TEST_CASE("a damaged record stops the open with a Corruption naming it") {
    Fixture f;
    Populate(f);
    f.store.reset();
    std::string value = RawGet(f.dir.path, "k/config/a");
    value[3] ^= 0x20;
    RawPut(f.dir.path, "k/config/a", value);
    auto damaged = StateStore::Open(f.dir.path);
    REQUIRE_FALSE(damaged.IsOk());
    CHECK(damaged.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(damaged.GetStatus().Message().find("k/config/a") != std::string::npos);
  }

  TEST_CASE("a valid record moved under another key is caught") {
    Fixture f;
    Populate(f);
    f.store.reset();
    RawPut(f.dir.path, "k/config/z", RawGet(f.dir.path, "k/config/a"));
    CHECK(StateStore::Open(f.dir.path).GetStatus().Code() == StatusCode::kCorruption);
  }

  TEST_CASE("a dangling reference is caught") {
    Fixture f;
    Populate(f);
    f.store.reset();
    // A well-sealed service on a node that does not exist.
    {
      Fixture g;
      Registration r;
      r.node.name = "elsewhere";
      Service s;
      s.name = "orphan";
      r.service = s;
      REQUIRE(g.Register(r).Ok());
      g.store.reset();
      std::string key = "s/";
      key.push_back(static_cast<char>(9));
      key += "elsewhereorphan";
      RawPut(f.dir.path, key, RawGet(g.dir.path, key));
    }
    auto opened = StateStore::Open(f.dir.path);
    CHECK(opened.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(opened.GetStatus().Message().find("unknown node") != std::string::npos);
  }

  TEST_CASE("snapshot and restore round-trip everything") {
    Fixture f;
    Populate(f);
    const std::string snapshot = f.store->Snapshot();

    Fixture g;
    REQUIRE(g.Set("only-in-g", "x").Ok());
    REQUIRE(g.Set("config/a", "old").Ok());
    bool woke = false;
    REQUIRE(
        g.store->Watch(StateStore::TopicsForKvGet("nothing"), g.store->KvGet("nothing").index, [&woke] { woke = true; })
            .IsOk());
    REQUIRE(g.store->Restore(snapshot).IsOk());
    CHECK(woke);
    CheckPopulated(*g.store);
    CHECK_FALSE(g.store->KvGet("only-in-g").value);
    CHECK(g.store->Snapshot() == snapshot);

    g.store.reset();
    auto reopened = OpenOrDie(g.dir.path);
    CheckPopulated(*reopened);
    CHECK_FALSE(reopened->KvGet("only-in-g").value);
    CHECK(reopened->Snapshot() == snapshot);
  }

  TEST_CASE("a damaged or foreign snapshot is refused and changes nothing") {
    Fixture f;
    Populate(f);
    const std::string snapshot = f.store->Snapshot();
    Fixture g;
    REQUIRE(g.Set("mine", "x").Ok());

    std::string flipped = snapshot;
    flipped[flipped.size() / 2] ^= 0x01;
    CHECK(g.store->Restore(flipped).Code() == StatusCode::kCorruption);
    CHECK(g.store->Restore(snapshot.substr(0, snapshot.size() - 1)).Code() == StatusCode::kCorruption);
    CHECK(g.store->Restore("").Code() == StatusCode::kCorruption);
    CHECK(g.store->Restore(std::string(64, 'x')).Code() == StatusCode::kCorruption);

    // A version this code does not know, with a valid checksum.
    std::string future = snapshot.substr(0, snapshot.size() - 4);
    future[8] = 99;
    Encoder crc;
    crc.PutFixed32(Crc32c(future));
    future += crc.View();
    CHECK(g.store->Restore(future).Code() == StatusCode::kInvalidArgument);

    CHECK(g.store->KvGet("mine").value);
    CHECK(g.store->AppliedIndex() == RaftIndex(1));
  }

  TEST_CASE("every truncation and every single-byte flip of a snapshot is refused") {
    Fixture f;
    Populate(f);
    const std::string snapshot = f.store->Snapshot();
    Fixture g;
    REQUIRE(g.Set("mine", "x").Ok());
    for (size_t length = 0; length < snapshot.size(); ++length) {
      CHECK_MESSAGE(!g.store->Restore(snapshot.substr(0, length)).IsOk(), "length " << length);
    }
    for (size_t at = 0; at < snapshot.size(); ++at) {
      std::string flipped = snapshot;
      flipped[at] = static_cast<char>(flipped[at] ^ 0x40);
      CHECK_MESSAGE(!g.store->Restore(flipped).IsOk(), "flip at " << at);
    }
    CHECK(g.store->KvGet("mine").value);
    CHECK(g.store->AppliedIndex() == RaftIndex(1));
  }

  TEST_CASE("a damaged meta record stops the open") {
    Fixture f;
    Populate(f);
    f.store.reset();
    std::string meta = RawGet(f.dir.path, "m");
    meta[1] ^= 0x01;
    RawPut(f.dir.path, "m", meta);
    auto damaged = StateStore::Open(f.dir.path);
    CHECK(damaged.GetStatus().Code() == StatusCode::kCorruption);
  }

  TEST_CASE("a record under an unknown table letter stops the open") {
    Fixture f;
    Populate(f);
    f.store.reset();
    RawPut(f.dir.path, "q/strange", Seal("q/strange", "well-sealed"));
    auto opened = StateStore::Open(f.dir.path);
    CHECK(opened.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(opened.GetStatus().Message().find("unknown catalog record key") != std::string::npos);
  }

  TEST_CASE("an empty store snapshots and restores to empty") {
    Fixture f;
    const std::string empty = f.store->Snapshot();
    Fixture g;
    Populate(g);
    REQUIRE(g.store->Restore(empty).IsOk());
    CHECK(g.store->AppliedIndex() == RaftIndex(0));
    CHECK(g.store->Nodes().value.empty());
    CHECK(g.store->KvList("").value.empty());
    g.store.reset();
    CHECK(OpenOrDie(g.dir.path)->Sessions().value.empty());
  }

  TEST_CASE("replicas that apply the same commands, one restarting midway, end byte-identical") {
    constexpr uint64_t kSteps = 240;
    Fixture straight;
    for (uint64_t i = 1; i <= kSteps; ++i) ApplyScriptStep(*straight.store, i);
    Fixture restarted;
    for (uint64_t i = 1; i <= 97; ++i) ApplyScriptStep(*restarted.store, i);
    restarted.store.reset();
    restarted.store = OpenOrDie(restarted.dir.path);
    REQUIRE(restarted.store->AppliedIndex() == RaftIndex(97));
    for (uint64_t i = restarted.store->AppliedIndex().value + 1; i <= kSteps; ++i) {
      ApplyScriptStep(*restarted.store, i);
    }
    CHECK(straight.store->AppliedIndex() == RaftIndex(kSteps));
    CHECK(straight.store->Snapshot() == restarted.store->Snapshot());
    // The script did exercise sessions, locks and deletes.
    CHECK_FALSE(straight.store->KvList("data/").value.empty());
    CHECK(straight.store->KvList("lock/").index > RaftIndex(0));
    CHECK(straight.store->TableIndex(Table::kSessions) > RaftIndex(200));
  }

  TEST_CASE("a group is written as one batch; a rejected command in it leaves none of its records") {
    Fixture f;
    REQUIRE(f.Set("a", "old").Ok());  // 1, written alone
    f.store->BeginGroup();
    REQUIRE(f.Set("a", "new").Ok());                                 // 2
    REQUIRE(f.Set("b", "1").Ok());                                   // 3
    REQUIRE(f.Cas("a", "stale", 1).code == OutcomeCode::kRejected);  // 4
    // 5: writes t/x, then fails its check: the rollback must take t/x out of the shared batch.
    auto txn = f.store->Txn(
        f.Next(), f.now_millis,
        {KvOp{KvVerb::kSet, "t/x", "x", 0, {}, {}}, KvOp{KvVerb::kCheckIndex, "a", {}, 0, RaftIndex(1), {}}});
    REQUIRE(txn.IsOk());
    REQUIRE_FALSE(txn->Committed());
    REQUIRE(f.Delete("b").Ok());    // 6
    REQUIRE(f.Set("c", "3").Ok());  // 7
    // Memory has every command; RocksDB still ends at the command before the group.
    CHECK(f.store->AppliedIndex() == RaftIndex(7));
    CHECK(f.store->WrittenAppliedIndex() == RaftIndex(1));
    CHECK(f.Get("a")->value == "new");
    REQUIRE(f.store->CommitGroup().IsOk());
    CHECK_FALSE(f.store->GroupOpen());
    CHECK(f.store->WrittenAppliedIndex() == RaftIndex(7));
    const std::string image = f.store->Snapshot();

    f.store.reset();
    auto reopened = OpenOrDie(f.dir.path);
    CHECK(reopened->AppliedIndex() == RaftIndex(7));
    CHECK(reopened->KvGet("a").value->value == "new");
    CHECK(reopened->KvGet("a").value->modify_index == RaftIndex(2));
    CHECK_FALSE(reopened->KvGet("b").value);
    CHECK(reopened->KvList("b").index == RaftIndex(6));  // b's tombstone
    CHECK(reopened->KvGet("c").value->value == "3");
    CHECK_FALSE(reopened->KvGet("t/x").value);
    // Byte for byte what memory held, table indexes included.
    CHECK(reopened->Snapshot() == image);
  }

  TEST_CASE("a group of only rejected commands still records its applied index") {
    Fixture f;
    REQUIRE(f.Set("k", "v").Ok());
    f.store->BeginGroup();
    REQUIRE(f.Cas("k", "x", 42).code == OutcomeCode::kRejected);
    REQUIRE(f.store->AdvanceApplied(f.Next()).IsOk());
    REQUIRE(f.store->CommitGroup().IsOk());
    f.store->BeginGroup();
    REQUIRE(f.store->CommitGroup().IsOk());  // an empty group writes nothing and succeeds
    f.store.reset();
    auto reopened = OpenOrDie(f.dir.path);
    CHECK(reopened->AppliedIndex() == RaftIndex(3));
    CHECK(reopened->KvGet("k").value->value == "v");
  }

  TEST_CASE("a snapshot taken with a group open includes the group's commands") {
    Fixture f;
    REQUIRE(f.Set("before", "1").Ok());
    f.store->BeginGroup();
    REQUIRE(f.Set("inside", "2").Ok());
    const std::string snapshot = f.store->Snapshot();
    CHECK(StateStore::SnapshotAppliedIndex(snapshot).Value() == RaftIndex(2));
    Fixture g;
    REQUIRE(g.store->Restore(snapshot).IsOk());
    CHECK(g.store->KvGet("inside").value->value == "2");
    CHECK(g.store->AppliedIndex() == RaftIndex(2));
    REQUIRE(f.store->CommitGroup().IsOk());
  }

  TEST_CASE("restoring or closing with a group open writes the group first") {
    Fixture other;
    REQUIRE(other.Set("theirs", "t").Ok());
    const std::string image = other.store->Snapshot();

    Fixture f;
    f.store->BeginGroup();
    REQUIRE(f.Set("mine", "m").Ok());
    REQUIRE(f.Set("mine2", "m").Ok());
    // A refused image changes nothing, the open group included.
    CHECK(f.store->Restore("not a snapshot").Code() == StatusCode::kCorruption);
    CHECK(f.store->WrittenAppliedIndex() == RaftIndex(0));
    REQUIRE(f.store->Restore(image).IsOk());
    CHECK(f.store->GroupOpen());
    CHECK(f.store->WrittenAppliedIndex() == RaftIndex(1));
    f.next = 2;
    REQUIRE(f.Set("after", "a").Ok());
    f.store.reset();  // closed without CommitGroup

    auto reopened = OpenOrDie(f.dir.path);
    CHECK(reopened->AppliedIndex() == RaftIndex(2));
    CHECK(reopened->KvGet("theirs").value);
    CHECK(reopened->KvGet("after").value);
    CHECK_FALSE(reopened->KvGet("mine").value);
  }

  TEST_CASE("groups of any size, restarts between them, reach the same state as single writes") {
    constexpr uint64_t kSteps = 240;
    Fixture straight;
    for (uint64_t i = 1; i <= kSteps; ++i) ApplyScriptStep(*straight.store, i);
    Fixture grouped;
    uint64_t i = 1;
    for (uint64_t size = 1; i <= kSteps; size = size % 9 + 1) {
      grouped.store->BeginGroup();
      for (uint64_t end = std::min(kSteps, i + size - 1); i <= end; ++i) ApplyScriptStep(*grouped.store, i);
      REQUIRE(grouped.store->CommitGroup().IsOk());
      if (size == 5) {  // reopen from disk now and then
        grouped.store.reset();
        grouped.store = OpenOrDie(grouped.dir.path);
      }
    }
    CHECK(grouped.store->Snapshot() == straight.store->Snapshot());
    grouped.store.reset();
    CHECK(OpenOrDie(grouped.dir.path)->Snapshot() == straight.store->Snapshot());
  }
}

}  // namespace
}  // namespace cairn::catalog
