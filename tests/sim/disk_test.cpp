#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/sim/seeds.h"
#include "tests/sim/simulator.h"

namespace cairn::sim {
namespace {

constexpr const char* kHost = "10.0.0.1";

std::unique_ptr<WritableFile> Open(SimEnv& env, const std::string& path) {
  auto file = env.NewWritableFile(path);
  REQUIRE_MESSAGE(file.IsOk(), file.GetStatus().ToString());
  return std::move(file).Value();
}

std::string Read(SimEnv& env, const std::string& path) {
  auto contents = env.ReadFile(path);
  REQUIRE_MESSAGE(contents.IsOk(), contents.GetStatus().ToString());
  return *contents;
}

void CrashAndRestart(Simulator& sim) {
  sim.Crash(kHost);
  sim.Restart(kHost);
}

TEST_SUITE("sim.disk") {
  TEST_CASE("a crash loses unsynced appends and keeps synced ones") {
    Simulator sim(1);
    SimEnv& env = sim.AddNode(kHost);
    REQUIRE(env.CreateDir("/data").IsOk());
    auto file = Open(env, "/data/log");
    REQUIRE(env.SyncDir("/data").IsOk());
    REQUIRE(file->Append("synced;").IsOk());
    REQUIRE(file->Sync().IsOk());
    REQUIRE(file->Append("lost").IsOk());
    CHECK(Read(env, "/data/log") == "synced;lost");  // reads see volatile bytes
    CHECK(sim.DurableFileContents(kHost, "/data/log") == "synced;");

    CrashAndRestart(sim);
    CHECK(Read(env, "/data/log") == "synced;");
    // The handle belongs to the crashed incarnation.
    CHECK(file->Append("zombie").Code() == StatusCode::kIoError);
    CHECK(file->Sync().Code() == StatusCode::kIoError);
    file.reset();
    CHECK(Read(env, "/data/log") == "synced;");

    auto reopened = env.NewAppendableFile("/data/log");
    REQUIRE(reopened.IsOk());
    REQUIRE((*reopened)->Append("more").IsOk());
    REQUIRE((*reopened)->Sync().IsOk());
    REQUIRE((*reopened)->Close().IsOk());
    CHECK((*reopened)->Append("x").Code() == StatusCode::kFailedPrecondition);
    CrashAndRestart(sim);
    CHECK(Read(env, "/data/log") == "synced;more");
  }

  TEST_CASE("a file created without SyncDir of its directory vanishes on a crash") {
    Simulator sim(2);
    SimEnv& env = sim.AddNode(kHost);
    REQUIRE(env.CreateDir("/d").IsOk());
    auto kept = Open(env, "/d/kept");
    REQUIRE(kept->Append("k").IsOk());
    REQUIRE(kept->Sync().IsOk());
    REQUIRE(env.SyncDir("/d").IsOk());
    auto lost = Open(env, "/d/lost");
    REQUIRE(lost->Append("l").IsOk());
    REQUIRE(lost->Sync().IsOk());  // the bytes are durable, the name is not
    CHECK(env.FileExists("/d/lost"));
    CHECK(*env.ListDir("/d") == std::vector<std::string>{"kept", "lost"});

    CrashAndRestart(sim);
    CHECK(env.FileExists("/d/kept"));
    CHECK(Read(env, "/d/kept") == "k");
    CHECK_FALSE(env.FileExists("/d/lost"));
    CHECK(env.ReadFile("/d/lost").GetStatus().Code() == StatusCode::kNotFound);
    CHECK(*env.ListDir("/d") == std::vector<std::string>{"kept"});
    CHECK(env.FileExists("/d"));  // directories are durable once created
  }

  TEST_CASE("a file created and SyncDir'd but never synced comes back empty") {
    Simulator sim(3);
    SimEnv& env = sim.AddNode(kHost);
    auto file = Open(env, "f");
    REQUIRE(env.SyncDir(".").IsOk());
    REQUIRE(file->Append("unsynced").IsOk());
    CrashAndRestart(sim);
    CHECK(env.FileExists("f"));
    CHECK(Read(env, "f").empty());
  }

  TEST_CASE("an unsynced rename is undone by a crash; a synced one is kept") {
    Simulator sim(4);
    SimEnv& env = sim.AddNode(kHost);
    REQUIRE(env.CreateDir("/d").IsOk());
    REQUIRE(WriteFileAtomically(env, "/d/config", "v1").IsOk());
    CrashAndRestart(sim);
    CHECK(Read(env, "/d/config") == "v1");

    // The new version is written and synced but its rename is not made durable.
    auto next = Open(env, "/d/config.next");
    REQUIRE(next->Append("v2").IsOk());
    REQUIRE(next->Sync().IsOk());
    REQUIRE(next->Close().IsOk());
    REQUIRE(env.RenameFile("/d/config.next", "/d/config").IsOk());
    CHECK(Read(env, "/d/config") == "v2");
    CHECK_FALSE(env.FileExists("/d/config.next"));
    CrashAndRestart(sim);
    CHECK(Read(env, "/d/config") == "v1");
    CHECK_FALSE(env.FileExists("/d/config.next"));  // its creation was never made durable either

    REQUIRE(WriteFileAtomically(env, "/d/config", "v3").IsOk());
    CrashAndRestart(sim);
    CHECK(Read(env, "/d/config") == "v3");
    CHECK_FALSE(env.FileExists("/d/config.tmp"));
  }

  TEST_CASE("an unsynced remove is undone by a crash; a synced one is kept") {
    Simulator sim(5);
    SimEnv& env = sim.AddNode(kHost);
    REQUIRE(WriteFileAtomically(env, "a", "A").IsOk());
    REQUIRE(WriteFileAtomically(env, "b", "B").IsOk());
    REQUIRE(env.RemoveFile("a").IsOk());
    REQUIRE(env.RemoveFile("b").IsOk());
    CHECK(env.RemoveFile("b").Code() == StatusCode::kNotFound);
    REQUIRE(env.SyncDir(".").IsOk());
    REQUIRE(WriteFileAtomically(env, "c", "C").IsOk());
    REQUIRE(env.RemoveFile("c").IsOk());
    CrashAndRestart(sim);
    CHECK_FALSE(env.FileExists("a"));
    CHECK_FALSE(env.FileExists("b"));
    CHECK(Read(env, "c") == "C");
  }

  TEST_CASE("an unsynced truncation is undone by a crash") {
    Simulator sim(6);
    SimEnv& env = sim.AddNode(kHost);
    REQUIRE(WriteFileAtomically(env, "f", "old contents").IsOk());
    auto file = Open(env, "f");  // truncates
    REQUIRE(file->Append("new").IsOk());
    CHECK(Read(env, "f") == "new");
    CrashAndRestart(sim);
    CHECK(Read(env, "f") == "old contents");
    auto again = Open(env, "f");
    REQUIRE(again->Append("new").IsOk());
    REQUIRE(again->Sync().IsOk());
    CrashAndRestart(sim);
    CHECK(Read(env, "f") == "new");
  }

  TEST_CASE("a torn write keeps the synced bytes, earlier appends, and a strict prefix of the last append") {
    const std::string synced = "0123456789";
    const std::string earlier = "abcdefghij";
    const std::string last = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    int partial = 0;
    for (uint64_t seed : TestSeeds(200)) {
      Simulator sim(seed);
      INFO(sim.ReproHint(
          kSimTestBinary,
          "a torn write keeps the synced bytes, earlier appends, and a strict prefix of the last append"));
      sim.SetDiskFaults(DiskFaults{1.0});
      SimEnv& env = sim.AddNode(kHost);
      auto file = Open(env, "wal");
      REQUIRE(env.SyncDir(".").IsOk());
      REQUIRE(file->Append(synced).IsOk());
      REQUIRE(file->Sync().IsOk());
      REQUIRE(file->Append(earlier).IsOk());
      REQUIRE(file->Append(last).IsOk());
      CrashAndRestart(sim);
      const std::string after = Read(env, "wal");
      const std::string full = synced + earlier + last;
      CAPTURE(after);
      REQUIRE(after.size() >= synced.size() + earlier.size());
      CHECK(after.size() < full.size());
      CHECK(full.compare(0, after.size(), after) == 0);
      if (after.size() > synced.size() + earlier.size()) ++partial;
    }
    if (TestSeeds(200).size() > 1) CHECK(partial > 0);
  }

  TEST_CASE("without torn writes a crash keeps exactly the synced bytes") {
    Simulator sim(7);
    sim.SetDiskFaults(DiskFaults{0.0});
    SimEnv& env = sim.AddNode(kHost);
    auto file = Open(env, "wal");
    REQUIRE(env.SyncDir(".").IsOk());
    REQUIRE(file->Append("kept").IsOk());
    REQUIRE(file->Sync().IsOk());
    REQUIRE(file->Append("gone").IsOk());
    CrashAndRestart(sim);
    CHECK(Read(env, "wal") == "kept");
  }

  TEST_CASE("file system errors are clear and a down host refuses files") {
    Simulator sim(8);
    SimEnv& env = sim.AddNode(kHost);
    CHECK(env.NewWritableFile("/missing/f").GetStatus().Code() == StatusCode::kNotFound);
    CHECK(env.ReadFile("nope").GetStatus().Code() == StatusCode::kNotFound);
    CHECK(env.RenameFile("nope", "x").Code() == StatusCode::kNotFound);
    CHECK(env.SyncDir("/missing").Code() == StatusCode::kNotFound);
    CHECK(env.ListDir("/missing").GetStatus().Code() == StatusCode::kNotFound);
    REQUIRE(env.CreateDir("/a/b/c").IsOk());
    REQUIRE(env.CreateDir("/a/b/c/").IsOk());
    CHECK(*env.ListDir("/a") == std::vector<std::string>{"b"});
    CHECK(env.ReadFile("/a/b").GetStatus().Code() == StatusCode::kIoError);
    sim.Crash(kHost);
    CHECK(env.ReadFile("/a").GetStatus().Code() == StatusCode::kUnavailable);
    CHECK(env.NewWritableFile("/a/f").GetStatus().Code() == StatusCode::kUnavailable);
    CHECK_FALSE(env.FileExists("/a"));
    sim.Restart(kHost);
    CHECK(env.FileExists("/a/b/c"));
  }

  TEST_CASE("disks of different hosts are separate") {
    Simulator sim(9);
    SimEnv& a = sim.AddNode("10.0.0.1");
    SimEnv& b = sim.AddNode("10.0.0.2");
    REQUIRE(WriteFileAtomically(a, "f", "on a").IsOk());
    CHECK_FALSE(b.FileExists("f"));
    sim.Crash("10.0.0.2");
    sim.Restart("10.0.0.2");
    CHECK(Read(a, "f") == "on a");
  }
}

}  // namespace
}  // namespace cairn::sim
