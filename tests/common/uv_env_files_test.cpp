#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "common/uv_env.h"

namespace cairn {
namespace {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cairn_uv_files_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string operator/(std::string_view name) const { return JoinPath(path_, name); }
  const std::string& Path() const { return path_; }

 private:
  std::string path_;
};

TEST_SUITE("common.uv_files") {
  TEST_CASE("write, sync, close and read back; append adds to the end") {
    UvEnv env;
    TempDir dir;
    const std::string path = dir / "data";
    {
      auto file = env.NewWritableFile(path);
      REQUIRE(file.IsOk());
      CHECK((*file)->Append("hello ").IsOk());
      CHECK((*file)->Append("").IsOk());
      CHECK((*file)->Append("world").IsOk());
      CHECK((*file)->Sync().IsOk());
      CHECK((*file)->Close().IsOk());
      CHECK((*file)->Append("x").Code() == StatusCode::kFailedPrecondition);
      CHECK_FALSE((*file)->Sync().IsOk());
      CHECK_FALSE((*file)->Close().IsOk());
    }
    auto contents = env.ReadFile(path);
    REQUIRE(contents.IsOk());
    CHECK(*contents == "hello world");
    {
      auto file = env.NewAppendableFile(path);
      REQUIRE(file.IsOk());
      CHECK((*file)->Append("!").IsOk());
      // Destroyed without Close(): the descriptor is closed anyway, the bytes are in the kernel.
    }
    CHECK(env.ReadFile(path).ValueOr("") == "hello world!");
    {
      auto file = env.NewWritableFile(path);  // truncates
      REQUIRE(file.IsOk());
      CHECK((*file)->Close().IsOk());
    }
    CHECK(env.ReadFile(path).ValueOr("?") == "");
  }

  TEST_CASE("a multi-megabyte file round-trips byte for byte") {
    UvEnv env;
    TempDir dir;
    std::string big(5 * 1024 * 1024 + 7, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) ^ (i >> 9));
    auto file = env.NewWritableFile(dir / "big");
    REQUIRE(file.IsOk());
    REQUIRE((*file)->Append(big).IsOk());
    REQUIRE((*file)->Sync().IsOk());
    REQUIRE((*file)->Close().IsOk());
    auto back = env.ReadFile(dir / "big");
    REQUIRE(back.IsOk());
    CHECK(back->size() == big.size());
    CHECK(*back == big);
  }

  TEST_CASE("missing things give NotFound naming the path") {
    UvEnv env;
    TempDir dir;
    const std::string missing = dir / "missing";
    auto read = env.ReadFile(missing);
    REQUIRE_FALSE(read.IsOk());
    CHECK(read.GetStatus().Code() == StatusCode::kNotFound);
    CHECK(read.GetStatus().Message().find(missing) != std::string::npos);
    CHECK(env.RemoveFile(missing).Code() == StatusCode::kNotFound);
    CHECK(env.ListDir(missing).GetStatus().Code() == StatusCode::kNotFound);
    CHECK(env.RenameFile(missing, dir / "other").Code() == StatusCode::kNotFound);
    CHECK_FALSE(env.NewWritableFile(dir / "no/such/dir/file").IsOk());
    CHECK_FALSE(env.SyncDir(missing).IsOk());
    CHECK_FALSE(env.FileExists(missing));
  }

  TEST_CASE("other OS errors are IoError with the reason") {
    UvEnv env;
    TempDir dir;
    REQUIRE(env.CreateDir(dir / "sub").IsOk());
    auto read = env.ReadFile(dir / "sub");  // reading a directory fails with EISDIR
    REQUIRE_FALSE(read.IsOk());
    CHECK(read.GetStatus().Code() == StatusCode::kIoError);
    CHECK(read.GetStatus().Message().find("directory") != std::string::npos);
  }

  TEST_CASE("rename, remove, exists") {
    UvEnv env;
    TempDir dir;
    REQUIRE(WriteFileAtomically(env, dir / "a", "one").IsOk());
    REQUIRE(WriteFileAtomically(env, dir / "b", "two").IsOk());
    CHECK(env.FileExists(dir / "a"));
    REQUIRE(env.RenameFile(dir / "a", dir / "b").IsOk());  // replaces b
    CHECK_FALSE(env.FileExists(dir / "a"));
    CHECK(env.ReadFile(dir / "b").ValueOr("") == "one");
    REQUIRE(env.SyncDir(dir.Path()).IsOk());
    REQUIRE(env.RemoveFile(dir / "b").IsOk());
    CHECK_FALSE(env.FileExists(dir / "b"));
  }

  TEST_CASE("CreateDir makes parents, accepts existing dirs, and refuses files") {
    UvEnv env;
    TempDir dir;
    REQUIRE(env.CreateDir(dir / "x/y/z").IsOk());
    CHECK(std::filesystem::is_directory(dir / "x/y/z"));
    CHECK(env.CreateDir(dir / "x/y/z").IsOk());
    CHECK(env.CreateDir(dir / "x/y/").IsOk());
    REQUIRE(WriteFileAtomically(env, dir / "file", "f").IsOk());
    CHECK_FALSE(env.CreateDir(dir / "file").IsOk());
    CHECK_FALSE(env.CreateDir(dir / "file/below").IsOk());
    CHECK(env.SyncDir(dir / "x/y").IsOk());
  }

  TEST_CASE("ListDir returns sorted names without . and ..") {
    UvEnv env;
    TempDir dir;
    auto empty = env.ListDir(dir.Path());
    REQUIRE(empty.IsOk());
    CHECK(empty->empty());
    for (const char* name : {"c", "a", "b10", "b2"}) REQUIRE(WriteFileAtomically(env, dir / name, name).IsOk());
    REQUIRE(env.CreateDir(dir / "d").IsOk());
    auto names = env.ListDir(dir.Path());
    REQUIRE(names.IsOk());
    CHECK(*names == std::vector<std::string>{"a", "b10", "b2", "c", "d"});
  }

  TEST_CASE("WriteFileAtomically replaces the contents and leaves no temporary behind") {
    UvEnv env;
    TempDir dir;
    const std::string path = dir / "state";
    REQUIRE(WriteFileAtomically(env, path, "first").IsOk());
    REQUIRE(WriteFileAtomically(env, path, "second, longer").IsOk());
    CHECK(env.ReadFile(path).ValueOr("") == "second, longer");
    CHECK(env.ListDir(dir.Path()).ValueOr({}) == std::vector<std::string>{"state"});
    CHECK_FALSE(WriteFileAtomically(env, dir / "missing/state", "x").IsOk());
  }
}

}  // namespace
}  // namespace cairn
