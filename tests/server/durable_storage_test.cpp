#include "server/raft/durable_storage.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace cairn::raft {
namespace {

struct TempDir {
  TempDir() {
    path = (std::filesystem::temp_directory_path() /
            ("cairn-durable-storage-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
  static inline int counter = 0;
};

std::vector<Entry> MakeEntries(uint64_t from, uint64_t to, uint64_t term) {
  std::vector<Entry> out;
  for (uint64_t i = from; i <= to; ++i) {
    out.push_back(Entry{Term(term), Index(i), EntryType::kNormal, "cmd-" + std::to_string(i)});
  }
  return out;
}

std::unique_ptr<DurableStorage> OpenOrDie(const std::string& dir) {
  auto storage = DurableStorage::Open(dir);
  REQUIRE_MESSAGE(storage.IsOk(), storage.GetStatus().ToString());
  return std::move(storage).Value();
}

const Configuration kVoters{{NodeId(1), NodeId(2), NodeId(3)}, {}};

TEST_SUITE("raft.durable_storage") {
  TEST_CASE("a new store is new; bootstrap writes the founding snapshot") {
    TempDir dir;
    {
      auto storage = OpenOrDie(dir.path);
      CHECK(storage->IsNew());
      REQUIRE(storage->Bootstrap(kVoters, "empty-image").IsOk());
      CHECK_FALSE(storage->IsNew());
    }
    auto storage = OpenOrDie(dir.path);
    CHECK_FALSE(storage->IsNew());
    auto init = storage->GetInitialState();
    REQUIRE(init.IsOk());
    CHECK(init->snapshot == SnapshotMeta{Index(1), Term(1), kVoters});
    CHECK(init->hard_state == HardState{Term(1), kNoNode, Index(1)});
    CHECK(storage->GetSnapshot()->data == "empty-image");
    CHECK(storage->FirstIndex() == Index(2));
    CHECK(storage->LastIndex() == Index(1));
  }

  TEST_CASE("reads come from memory once persisted and mirrored; recovery reloads them") {
    TempDir dir;
    {
      auto storage = OpenOrDie(dir.path);
      REQUIRE(storage->Bootstrap(kVoters, "").IsOk());
      SaveRequest request{std::nullopt, MakeEntries(2, 20, 2), HardState{Term(2), NodeId(1), Index(10)}};
      REQUIRE(storage->Persist(request).IsOk());
      // Persisted but not yet mirrored: the core must not see it yet.
      CHECK(storage->LastIndex() == Index(1));
      REQUIRE(storage->ApplyPersisted(request).IsOk());
      CHECK(storage->LastIndex() == Index(20));
      CHECK(storage->TermAt(Index(15)).Value() == Term(2));
      // A conflicting suffix from index 12.
      SaveRequest conflict{std::nullopt, MakeEntries(12, 13, 3), HardState{Term(3), NodeId(2), Index(11)}};
      REQUIRE(storage->Persist(conflict).IsOk());
      REQUIRE(storage->ApplyPersisted(conflict).IsOk());
      CHECK(storage->LastIndex() == Index(13));
    }
    auto storage = OpenOrDie(dir.path);
    CHECK(storage->LastIndex() == Index(13));
    CHECK(storage->TermAt(Index(12)).Value() == Term(3));
    CHECK(storage->TermAt(Index(11)).Value() == Term(2));
    CHECK(storage->GetHardState() == HardState{Term(3), NodeId(2), Index(11)});
    auto entries = storage->Entries(Index(2), Index(14), UINT64_MAX);
    REQUIRE(entries.IsOk());
    CHECK(entries->size() == 12);
    CHECK(entries->back().data == "cmd-13");
  }

  TEST_CASE("compaction keeps a trailing window in memory and the snapshot survives restart") {
    TempDir dir;
    {
      auto storage = OpenOrDie(dir.path);
      REQUIRE(storage->Bootstrap(kVoters, "").IsOk());
      SaveRequest request{std::nullopt, MakeEntries(2, 100, 2), HardState{Term(2), NodeId(1), Index(100)}};
      REQUIRE(storage->Persist(request).IsOk());
      REQUIRE(storage->ApplyPersisted(request).IsOk());
      const Snapshot snapshot{SnapshotMeta{Index(90), Term(2), kVoters}, "image-90"};
      REQUIRE(storage->PersistCompaction(snapshot, 10).IsOk());
      REQUIRE(storage->ApplyCompaction(snapshot, 10).IsOk());
      CHECK(storage->FirstIndex() == Index(81));
      CHECK(storage->LastIndex() == Index(100));
      CHECK(storage->GetSnapshot()->meta.index == Index(90));
      CHECK(storage->GetSnapshot()->data == "image-90");
      CHECK(storage->PersistCompaction(snapshot, 10).Code() == StatusCode::kFailedPrecondition);
    }
    // The trailing window is durable too: a follower a little behind still gets entries from a
    // restarted leader instead of the whole snapshot.
    auto storage = OpenOrDie(dir.path);
    CHECK(storage->FirstIndex() == Index(81));
    CHECK(storage->LastIndex() == Index(100));
    CHECK(storage->TermAt(Index(80)).Value() == Term(2));
    auto window = storage->Entries(Index(81), Index(101), UINT64_MAX);
    REQUIRE(window.IsOk());
    REQUIRE(window->size() == 20);
    CHECK(window->front().data == "cmd-81");
    CHECK(storage->GetSnapshot()->data == "image-90");
    CHECK(storage->GetInitialState()->snapshot == SnapshotMeta{Index(90), Term(2), kVoters});

    // A later compaction moves the window on, across another restart.
    const Snapshot later{SnapshotMeta{Index(98), Term(2), kVoters}, "image-98"};
    REQUIRE(storage->PersistCompaction(later, 10).IsOk());
    REQUIRE(storage->ApplyCompaction(later, 10).IsOk());
    CHECK(storage->FirstIndex() == Index(89));
    storage.reset();
    storage = OpenOrDie(dir.path);
    CHECK(storage->FirstIndex() == Index(89));
    CHECK(storage->LastIndex() == Index(100));
    CHECK(storage->GetSnapshot()->data == "image-98");
  }

  TEST_CASE("a snapshot from the leader replaces the log in memory and on disk") {
    TempDir dir;
    {
      auto storage = OpenOrDie(dir.path);
      REQUIRE(storage->Bootstrap(kVoters, "").IsOk());
      SaveRequest request{std::nullopt, MakeEntries(2, 5, 2), HardState{Term(2), kNoNode, Index(3)}};
      REQUIRE(storage->Persist(request).IsOk());
      REQUIRE(storage->ApplyPersisted(request).IsOk());
      SaveRequest install{Snapshot{SnapshotMeta{Index(50), Term(4), kVoters}, "leader-image"}, MakeEntries(51, 52, 4),
                          HardState{Term(4), kNoNode, Index(50)}};
      REQUIRE(storage->Persist(install).IsOk());
      REQUIRE(storage->ApplyPersisted(install).IsOk());
      CHECK(storage->FirstIndex() == Index(51));
      CHECK(storage->LastIndex() == Index(52));
      CHECK_FALSE(storage->TermAt(Index(5)).IsOk());
    }
    auto storage = OpenOrDie(dir.path);
    CHECK(storage->FirstIndex() == Index(51));
    CHECK(storage->LastIndex() == Index(52));
    CHECK(storage->GetSnapshot()->data == "leader-image");
  }
}

}  // namespace
}  // namespace cairn::raft
