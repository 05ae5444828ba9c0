#include "tests/sim/sim_disk.h"

#include <utility>

#include "common/env.h"

namespace cairn::sim::internal {

SimDisk::SimDisk() {
  dirs_.insert(".");
  dirs_.insert("/");
}

std::string SimDisk::Normalize(const std::string& path) {
  std::string out = path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

std::string SimDisk::DurableBytes(const Inode& inode) {
  if (inode.durable_before_truncate) return *inode.durable_before_truncate;
  return inode.data.substr(0, inode.synced);
}

Status SimDisk::CheckParent(const std::string& path) const {
  if (path.empty()) return Status::InvalidArgument("empty path");
  if (dirs_.contains(path)) return Status::IoError("'" + path + "' is a directory");
  const std::string parent = ParentDir(path);
  if (!DirExists(parent)) return Status::NotFound("directory '" + parent + "' does not exist");
  return OkStatus();
}

bool SimDisk::Referenced(InodeId inode) const {
  const auto it = inodes_.find(inode);
  if (it != inodes_.end() && it->second.open_handles > 0) return true;
  for (const auto& [path, id] : files_) {
    if (id == inode) return true;
  }
  for (const auto& [path, id] : durable_files_) {
    if (id == inode) return true;
  }
  return false;
}

void SimDisk::DropIfUnreferenced(InodeId inode) {
  if (!Referenced(inode)) inodes_.erase(inode);
}

Result<InodeId> SimDisk::OpenForWrite(const std::string& raw_path, bool truncate) {
  const std::string path = Normalize(raw_path);
  CAIRN_RETURN_IF_ERROR(CheckParent(path));
  auto it = files_.find(path);
  if (it == files_.end()) {
    it = files_.emplace(path, next_inode_++).first;
    inodes_[it->second];
  }
  Inode& inode = inodes_.at(it->second);
  if (truncate && !inode.data.empty()) {
    // Remember what a crash would bring back until the truncation itself is synced.
    if (!inode.durable_before_truncate) inode.durable_before_truncate = DurableBytes(inode);
    inode.data.clear();
    inode.synced = 0;
    inode.last_append_begin = inode.last_append_end = 0;
  }
  ++inode.open_handles;
  return it->second;
}

void SimDisk::ReleaseHandle(InodeId inode) {
  auto it = inodes_.find(inode);
  if (it == inodes_.end()) return;
  CAIRN_ASSERT(it->second.open_handles > 0, "file handle released twice");
  --it->second.open_handles;
  DropIfUnreferenced(inode);
}

Status SimDisk::Append(InodeId id, std::string_view data) {
  auto it = inodes_.find(id);
  CAIRN_ASSERT(it != inodes_.end(), "append to an inode that no longer exists");
  Inode& inode = it->second;
  inode.last_append_begin = inode.data.size();
  inode.data.append(data);
  inode.last_append_end = inode.data.size();
  return OkStatus();
}

Status SimDisk::SyncFile(InodeId id) {
  auto it = inodes_.find(id);
  CAIRN_ASSERT(it != inodes_.end(), "sync of an inode that no longer exists");
  it->second.synced = it->second.data.size();
  it->second.durable_before_truncate.reset();
  return OkStatus();
}

Result<std::string> SimDisk::ReadFile(const std::string& raw_path) const {
  const std::string path = Normalize(raw_path);
  const auto it = files_.find(path);
  if (it == files_.end()) {
    if (dirs_.contains(path)) return Status::IoError("'" + path + "' is a directory");
    return Status::NotFound("no file '" + path + "'");
  }
  return inodes_.at(it->second).data;
}

Status SimDisk::RenameFile(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = Normalize(raw_from);
  const std::string to = Normalize(raw_to);
  const auto it = files_.find(from);
  if (it == files_.end()) return Status::NotFound("rename: no file '" + from + "'");
  CAIRN_RETURN_IF_ERROR(CheckParent(to));
  if (from == to) return OkStatus();
  const InodeId moving = it->second;
  files_.erase(it);
  const auto old = files_.find(to);
  const std::optional<InodeId> replaced = old == files_.end() ? std::nullopt : std::optional<InodeId>(old->second);
  files_[to] = moving;
  if (replaced) DropIfUnreferenced(*replaced);
  return OkStatus();
}

Status SimDisk::RemoveFile(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  const auto it = files_.find(path);
  if (it == files_.end()) {
    if (dirs_.contains(path)) return Status::IoError("remove: '" + path + "' is a directory");
    return Status::NotFound("remove: no file '" + path + "'");
  }
  const InodeId removed = it->second;
  files_.erase(it);
  DropIfUnreferenced(removed);
  return OkStatus();
}

Status SimDisk::CreateDir(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  if (path.empty()) return Status::InvalidArgument("empty path");
  if (dirs_.contains(path)) return OkStatus();
  if (files_.contains(path)) return Status::AlreadyExists("'" + path + "' exists and is a file");
  CAIRN_RETURN_IF_ERROR(CreateDir(ParentDir(path)));
  dirs_.insert(path);
  return OkStatus();
}

Status SimDisk::SyncDir(const std::string& raw_path) {
  const std::string dir = Normalize(raw_path);
  if (!DirExists(dir)) return Status::NotFound("sync: no directory '" + dir + "'");
  std::vector<InodeId> unlinked;
  for (auto it = durable_files_.begin(); it != durable_files_.end();) {
    if (ParentDir(it->first) == dir && !files_.contains(it->first)) {
      unlinked.push_back(it->second);
      it = durable_files_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [path, inode] : files_) {
    if (ParentDir(path) != dir) continue;
    auto [it, inserted] = durable_files_.emplace(path, inode);
    if (!inserted && it->second != inode) {
      unlinked.push_back(it->second);
      it->second = inode;
    }
  }
  for (InodeId inode : unlinked) DropIfUnreferenced(inode);
  return OkStatus();
}

Result<std::vector<std::string>> SimDisk::ListDir(const std::string& raw_path) const {
  const std::string dir = Normalize(raw_path);
  if (!DirExists(dir)) return Status::NotFound("list: no directory '" + dir + "'");
  std::set<std::string> names;
  auto add = [&](const std::string& path) {
    if (path == dir || ParentDir(path) != dir) return;
    const size_t slash = path.rfind('/');
    names.insert(slash == std::string::npos ? path : path.substr(slash + 1));
  };
  for (const auto& [path, inode] : files_) add(path);
  for (const std::string& path : dirs_) add(path);
  return std::vector<std::string>(names.begin(), names.end());
}

bool SimDisk::Exists(const std::string& raw_path) const {
  const std::string path = Normalize(raw_path);
  return files_.contains(path) || dirs_.contains(path);
}

void SimDisk::Crash(Prng& random, double torn_probability) {
  files_ = durable_files_;
  for (auto& [id, inode] : inodes_) inode.open_handles = 0;
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    it = Referenced(it->first) ? std::next(it) : inodes_.erase(it);
  }
  for (auto& [id, inode] : inodes_) {
    const bool has_unsynced_append = !inode.durable_before_truncate &&
                                     inode.last_append_end > inode.last_append_begin &&
                                     inode.last_append_begin >= inode.synced && inode.data.size() > inode.synced;
    if (has_unsynced_append && random.Chance(torn_probability)) {
      const size_t length = inode.last_append_end - inode.last_append_begin;
      inode.data.resize(inode.last_append_begin + random.Below(length));
    } else {
      inode.data = DurableBytes(inode);
    }
    inode.synced = inode.data.size();
    inode.durable_before_truncate.reset();
    inode.last_append_begin = inode.last_append_end = 0;
  }
}

std::optional<std::string> SimDisk::DurableContents(const std::string& raw_path) const {
  const auto it = durable_files_.find(Normalize(raw_path));
  if (it == durable_files_.end()) return std::nullopt;
  return DurableBytes(inodes_.at(it->second));
}

}  // namespace cairn::sim::internal
