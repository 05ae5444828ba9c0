#include "server/raft/log_store.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <string>

#include "common/codec.h"
#include "common/sealed_record.h"

namespace cairn::raft {
namespace {

// A fresh directory under the system temp dir, removed afterwards.
struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() /
            ("cairn-log-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
  static inline int counter = 0;
};

Entry MakeEntry(uint64_t index, uint64_t term, std::string data = "") {
  if (data.empty()) data = "cmd-" + std::to_string(index) + "-" + std::to_string(term);
  return Entry{Term(term), Index(index), EntryType::kNormal, std::move(data)};
}

std::vector<Entry> MakeEntries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(MakeEntry(i, term));
  return out;
}

std::unique_ptr<LogStore> OpenOrDie(const std::string& dir) {
  auto store = LogStore::Open(dir);
  REQUIRE_MESSAGE(store.IsOk(), store.GetStatus().ToString());
  return std::move(store).Value();
}

// Overwrites a raw key in the RocksDB underneath, as disk damage would.
void Tamper(const std::string& dir, const std::string& key, const std::string& value) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  REQUIRE(db->Put(rocksdb::WriteOptions(), key, value).ok());
}

std::string RawEntryKey(uint64_t index) {
  std::string key(1, 'e');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((index >> shift) & 0xFF));
  return key;
}

TEST_SUITE("raft.log_store") {
  TEST_CASE("a new store is empty and survives reopening with what was saved") {
    TempDir dir;
    {
      auto store = OpenOrDie(dir.path);
      CHECK(store->FirstIndex() == Index(1));
      CHECK(store->LastIndex() == Index(0));
      CHECK(store->TermAt(Index(0)).Value() == Term(0));
      REQUIRE(store->Save(HardState{Term(2), NodeId(1), Index(3)}, MakeEntries(1, 5, 2)).IsOk());
    }
    auto store = OpenOrDie(dir.path);
    CHECK(store->GetHardState() == HardState{Term(2), NodeId(1), Index(3)});
    CHECK(store->FirstIndex() == Index(1));
    CHECK(store->LastIndex() == Index(5));
    CHECK(store->TermAt(Index(4)).Value() == Term(2));
    auto entries = store->Entries(Index(2), Index(5), SIZE_MAX);
    REQUIRE(entries.IsOk());
    CHECK(*entries == std::vector<Entry>{MakeEntry(2, 2), MakeEntry(3, 2), MakeEntry(4, 2)});
    CHECK_FALSE(store->TermAt(Index(6)).IsOk());
  }

  TEST_CASE("a conflicting suffix is replaced, including entries beyond the new ones") {
    TempDir dir;
    {
      auto store = OpenOrDie(dir.path);
      REQUIRE(store->Save(HardState{Term(1), kNoNode, Index(0)}, MakeEntries(1, 6, 1)).IsOk());
      REQUIRE(store->Save(HardState{Term(3), kNoNode, Index(0)}, MakeEntries(4, 4, 3)).IsOk());
      CHECK(store->LastIndex() == Index(4));
    }
    auto store = OpenOrDie(dir.path);
    CHECK(store->LastIndex() == Index(4));
    CHECK(store->TermAt(Index(3)).Value() == Term(1));
    CHECK(store->TermAt(Index(4)).Value() == Term(3));
  }

  TEST_CASE("Entries respects the byte budget but returns at least one entry") {
    TempDir dir;
    auto store = OpenOrDie(dir.path);
    std::vector<Entry> big;
    for (uint64_t i = 1; i <= 4; ++i) big.push_back(MakeEntry(i, 1, std::string(100, 'x')));
    REQUIRE(store->Save(HardState{Term(1), kNoNode, Index(0)}, big).IsOk());
    CHECK(store->Entries(Index(1), Index(5), 250)->size() == 2);
    CHECK(store->Entries(Index(1), Index(5), 10)->size() == 1);
    CHECK(store->Entries(Index(3), Index(3), 10)->empty());
  }

  TEST_CASE("a snapshot compacts the log, keeps later entries, and persists") {
    TempDir dir;
    const Configuration config{{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}};
    {
      auto store = OpenOrDie(dir.path);
      REQUIRE(store->Save(HardState{Term(2), NodeId(1), Index(8)}, MakeEntries(1, 10, 2)).IsOk());
      REQUIRE(store->SaveSnapshot(SnapshotMeta{Index(7), Term(2), config}).IsOk());
      CHECK(store->FirstIndex() == Index(8));
      CHECK(store->SaveSnapshot(SnapshotMeta{Index(5), Term(2), config}).Code() == StatusCode::kFailedPrecondition);
    }
    auto store = OpenOrDie(dir.path);
    REQUIRE(store->LatestSnapshot().has_value());
    CHECK(store->LatestSnapshot()->configuration == config);
    CHECK(store->FirstIndex() == Index(8));
    CHECK(store->LastIndex() == Index(10));
    CHECK(store->TermAt(Index(7)).Value() == Term(2));
    CHECK_FALSE(store->TermAt(Index(6)).IsOk());
  }

  TEST_CASE("a snapshot ahead of the log (installed from a leader) empties it") {
    TempDir dir;
    auto store = OpenOrDie(dir.path);
    REQUIRE(store->Save(HardState{Term(1), kNoNode, Index(0)}, MakeEntries(1, 3, 1)).IsOk());
    REQUIRE(store->SaveSnapshot(SnapshotMeta{Index(20), Term(4), {{NodeId(1)}, {}}}).IsOk());
    CHECK(store->FirstIndex() == Index(21));
    CHECK(store->LastIndex() == Index(20));
    REQUIRE(store->Save(HardState{Term(4), kNoNode, Index(20)}, MakeEntries(21, 22, 4)).IsOk());
    store.reset();
    store = OpenOrDie(dir.path);
    CHECK(store->LastIndex() == Index(22));
    CHECK(store->TermAt(Index(20)).Value() == Term(4));
  }

  TEST_CASE("a snapshot whose term differs from the log's entry drops the log") {
    TempDir dir;
    auto store = OpenOrDie(dir.path);
    REQUIRE(store->Save(HardState{Term(3), kNoNode, Index(0)}, MakeEntries(1, 5, 1)).IsOk());
    REQUIRE(store->SaveSnapshot(SnapshotMeta{Index(3), Term(3), {{NodeId(1)}, {}}}).IsOk());
    CHECK(store->LastIndex() == Index(3));
    CHECK(store->FirstIndex() == Index(4));
  }

  TEST_CASE("corruption refuses to open with a message that names the record") {
    SUBCASE("a flipped byte in an entry") {
      TempDir dir;
      { REQUIRE(OpenOrDie(dir.path)->Save(HardState{Term(1), kNoNode, Index(0)}, MakeEntries(1, 3, 1)).IsOk()); }
      Tamper(dir.path, RawEntryKey(2), std::string("\x01\x00\x05hellXxxxx", 12));
      auto reopened = LogStore::Open(dir.path);
      REQUIRE_FALSE(reopened.IsOk());
      CHECK(reopened.GetStatus().Code() == StatusCode::kCorruption);
      CHECK(reopened.GetStatus().Message().find("log entry 2") != std::string::npos);
    }
    SUBCASE("a gap in the log") {
      TempDir dir;
      { REQUIRE(OpenOrDie(dir.path)->Save(HardState{Term(1), kNoNode, Index(0)}, MakeEntries(1, 3, 1)).IsOk()); }
      {
        rocksdb::DB* raw = nullptr;
        REQUIRE(rocksdb::DB::Open(rocksdb::Options(), dir.path, &raw).ok());
        std::unique_ptr<rocksdb::DB> db(raw);
        REQUIRE(db->Delete(rocksdb::WriteOptions(), RawEntryKey(2)).ok());
      }
      auto reopened = LogStore::Open(dir.path);
      REQUIRE_FALSE(reopened.IsOk());
      CHECK(reopened.GetStatus().Message().find("gap") != std::string::npos);
    }
    SUBCASE("a damaged hard state") {
      TempDir dir;
      { REQUIRE(OpenOrDie(dir.path)->Save(HardState{Term(1), kNoNode, Index(0)}, MakeEntries(1, 1, 1)).IsOk()); }
      Tamper(dir.path, "s/hard_state", "garbage!");
      auto reopened = LogStore::Open(dir.path);
      REQUIRE_FALSE(reopened.IsOk());
      CHECK(reopened.GetStatus().Message().find("hard state") != std::string::npos);
    }
  }

  TEST_CASE("a commit index beyond the log is refused at open") {
    TempDir dir;
    { REQUIRE(OpenOrDie(dir.path)->Save(HardState{Term(1), kNoNode, Index(9)}, MakeEntries(1, 2, 1)).IsOk()); }
    auto reopened = LogStore::Open(dir.path);
    REQUIRE_FALSE(reopened.IsOk());
    CHECK(reopened.GetStatus().Message().find("commit index 9") != std::string::npos);
  }

  TEST_CASE("Save(SaveRequest) writes snapshot, entries and hard state as one batch") {
    TempDir dir;
    const Configuration config{{NodeId(1), NodeId(2)}, {}};
    {
      auto store = OpenOrDie(dir.path);
      REQUIRE(store->Save(HardState{Term(1), kNoNode, Index(2)}, MakeEntries(1, 4, 1)).IsOk());
      SaveRequest request;
      request.snapshot = Snapshot{SnapshotMeta{Index(30), Term(5), config}, "image-at-30"};
      request.entries = MakeEntries(31, 33, 5);
      request.hard_state = HardState{Term(5), NodeId(2), Index(30)};
      REQUIRE(store->Save(request).IsOk());
      CHECK(store->FirstIndex() == Index(31));
      CHECK(store->LastIndex() == Index(33));
    }
    auto store = OpenOrDie(dir.path);
    CHECK(store->FirstIndex() == Index(31));
    CHECK(store->LastIndex() == Index(33));
    CHECK(store->GetHardState() == HardState{Term(5), NodeId(2), Index(30)});
    auto snapshot = store->LoadSnapshot();
    REQUIRE(snapshot.IsOk());
    REQUIRE(snapshot->has_value());
    CHECK((*snapshot)->meta == SnapshotMeta{Index(30), Term(5), config});
    CHECK((*snapshot)->data == "image-at-30");
    CHECK(store->Entries(Index(31), Index(34), 1 << 20).Value() == MakeEntries(31, 33, 5));
  }

  TEST_CASE("Save(SaveRequest) with a snapshot the log continues keeps the later entries") {
    TempDir dir;
    auto store = OpenOrDie(dir.path);
    REQUIRE(
        store->Save(SaveRequest{std::nullopt, MakeEntries(1, 10, 2), HardState{Term(2), kNoNode, Index(8)}}).IsOk());
    REQUIRE(
        store->Save(SaveRequest{Snapshot{SnapshotMeta{Index(6), Term(2), {{NodeId(1)}, {}}}, "six"}, {}, {}}).IsOk());
    CHECK(store->FirstIndex() == Index(7));
    CHECK(store->LastIndex() == Index(10));
    const Status older = store->Save(SaveRequest{Snapshot{SnapshotMeta{Index(5), Term(2), {}}, "five"}, {}, {}});
    CHECK(older.Code() == StatusCode::kFailedPrecondition);
    store.reset();
    store = OpenOrDie(dir.path);
    CHECK(store->FirstIndex() == Index(7));
    CHECK(store->LoadSnapshot().Value()->data == "six");
    // A snapshot recorded without data (metadata only) clears the old image.
    REQUIRE(store->SaveSnapshot(SnapshotMeta{Index(8), Term(2), {{NodeId(1)}, {}}}).IsOk());
    CHECK(store->LoadSnapshot().Value()->data.empty());
  }

  TEST_CASE("a trailing window behind a snapshot stays stored across a restart") {
    TempDir dir;
    const Configuration config{{NodeId(1)}, {}};
    {
      auto store = OpenOrDie(dir.path);
      REQUIRE(store->Save(HardState{Term(3), kNoNode, Index(30)}, MakeEntries(1, 30, 3)).IsOk());
      SaveRequest compaction{Snapshot{SnapshotMeta{Index(25), Term(3), config}, "image-25"}, {}, {}, 5};
      REQUIRE(store->Save(compaction).IsOk());
      // Entries 21..30 stay: the window's base (20) and the five before the snapshot with it.
      CHECK(store->FirstIndex() == Index(20));
      CHECK(store->TermAt(Index(25)).Value() == Term(3));
    }
    auto store = OpenOrDie(dir.path);
    CHECK(store->FirstIndex() == Index(20));
    CHECK(store->LastIndex() == Index(30));
    CHECK(store->Entries(Index(20), Index(31), 1 << 20).Value() == MakeEntries(20, 30, 3));
    CHECK(store->LatestSnapshot()->index == Index(25));
    // New entries still go after the log, never into the window.
    REQUIRE(store->Save(HardState{Term(4), kNoNode, Index(30)}, MakeEntries(31, 31, 4)).IsOk());
    store.reset();
    store = OpenOrDie(dir.path);
    CHECK(store->LastIndex() == Index(31));
    CHECK(store->FirstIndex() == Index(20));
  }

  TEST_CASE("a window whose entry at the snapshot index has another term is corruption") {
    TempDir dir;
    {
      auto store = OpenOrDie(dir.path);
      REQUIRE(store->Save(HardState{Term(3), kNoNode, Index(10)}, MakeEntries(1, 10, 3)).IsOk());
      REQUIRE(store->Save(SaveRequest{Snapshot{SnapshotMeta{Index(8), Term(3), {}}, "x"}, {}, {}, 4}).IsOk());
    }
    // The snapshot metadata rewritten with another term, its checksum still valid.
    Encoder meta;
    meta.PutVarint64(8);
    meta.PutVarint64(2);
    meta.PutVarint64(0);
    meta.PutVarint64(0);
    Tamper(dir.path, "s/snapshot", SealRecord("s/snapshot", meta.Take()));
    auto reopened = LogStore::Open(dir.path);
    REQUIRE_FALSE(reopened.IsOk());
    CHECK(reopened.GetStatus().Code() == StatusCode::kCorruption);
    CHECK(reopened.GetStatus().Message().find("snapshot there has term") != std::string::npos);
  }

  TEST_CASE("damaged snapshot data is reported as corruption") {
    TempDir dir;
    {
      SaveRequest request{
          Snapshot{SnapshotMeta{Index(3), Term(1), {}}, "img"}, {}, HardState{Term(1), kNoNode, Index(3)}};
      REQUIRE(OpenOrDie(dir.path)->Save(request).IsOk());
    }
    Tamper(dir.path, "s/snapshot_data", "garbage!");
    auto store = OpenOrDie(dir.path);
    auto snapshot = store->LoadSnapshot();
    REQUIRE_FALSE(snapshot.IsOk());
    CHECK(snapshot.GetStatus().Code() == StatusCode::kCorruption);
  }
}

}  // namespace
}  // namespace cairn::raft
