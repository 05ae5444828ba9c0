// The in-memory disk of one simulated host.
//
// Internal to tests/sim. Files are inodes (byte strings) named by directory entries. Two views
// exist: the current one, which reads and writes see, and the durable one, which survives a
// crash. Bytes become durable through SyncFile (WritableFile::Sync); file entry changes (create,
// rename, remove) become durable through SyncDir of the parent. Directories themselves are
// durable as soon as they are created: code creates its data directory once and the model would
// otherwise lose whole trees on a crash, which no test here wants to study.
//
// Inodes only grow by appends, except when a path is truncated (NewWritableFile on an existing
// file); the durable bytes of an inode are therefore its first `synced` bytes, or, after an
// unsynced truncation, the bytes it had at its last sync.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "common/status.h"

namespace cairn::sim::internal {

using InodeId = uint64_t;

class SimDisk {
 public:
  SimDisk();

  // Opens `path` for writing: creates it if missing; truncates it when `truncate`. Every
  // successful open is paired with one ReleaseHandle.
  Result<InodeId> OpenForWrite(const std::string& path, bool truncate);
  void ReleaseHandle(InodeId inode);
  Status Append(InodeId inode, std::string_view data);
  Status SyncFile(InodeId inode);

  Result<std::string> ReadFile(const std::string& path) const;
  Status RenameFile(const std::string& from, const std::string& to);
  Status RemoveFile(const std::string& path);
  Status CreateDir(const std::string& path);
  Status SyncDir(const std::string& path);
  Result<std::vector<std::string>> ListDir(const std::string& path) const;
  bool Exists(const std::string& path) const;

  // Reverts to the durable state. With probability `torn_probability` per file that has an
  // unsynced append, keeps every earlier unsynced append plus a random strict prefix of the last
  // one (a torn write).
  void Crash(Prng& random, double torn_probability);

  // Test introspection: bytes that would survive a crash right now, or nullopt when `path` has
  // no durable entry.
  std::optional<std::string> DurableContents(const std::string& path) const;

 private:
  struct Inode {
    std::string data;
    size_t synced = 0;  // data[0, synced) is durable unless durable_before_truncate is set
    std::optional<std::string> durable_before_truncate;
    size_t last_append_begin = 0;
    size_t last_append_end = 0;
    int open_handles = 0;
  };
  static std::string Normalize(const std::string& path);
  static std::string DurableBytes(const Inode& inode);
  bool DirExists(const std::string& path) const { return dirs_.contains(path); }
  Status CheckParent(const std::string& path) const;
  bool Referenced(InodeId inode) const;
  // Frees inodes no entry and no handle refers to, so removed files do not pile up.
  void DropIfUnreferenced(InodeId inode);

  std::map<InodeId, Inode> inodes_;
  std::map<std::string, InodeId> files_;          // what reads see
  std::map<std::string, InodeId> durable_files_;  // what survives a crash
  std::set<std::string> dirs_;
  InodeId next_inode_ = 1;
};

}  // namespace cairn::sim::internal
