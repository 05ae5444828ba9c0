#include "tests/sim/sim_host.h"

#include <utility>

#include "common/limits.h"
#include "tests/sim/sim_network.h"

namespace cairn::sim::internal {
namespace {

// A file handle. It belongs to the host incarnation that opened it: after a crash it fails,
// and the simulator's disk forgets it without waiting for the handle to be destroyed.
class SimWritableFile final : public WritableFile {
 public:
  SimWritableFile(HostEnv& host, InodeId inode, std::string path)
      : life_(host.Core().LifeToken()),
        host_(&host),
        incarnation_(host.Incarnation()),
        inode_(inode),
        path_(std::move(path)) {}

  ~SimWritableFile() override {
    if (Usable()) host_->Disk().ReleaseHandle(inode_);
  }

  Status Append(std::string_view data) override {
    CAIRN_RETURN_IF_ERROR(Check("append"));
    host_->Core().Mix(TraceKind::kDiskAppend, host_->Index(), DigestBytes(data));
    return host_->Disk().Append(inode_, data);
  }

  Status Sync() override {
    CAIRN_RETURN_IF_ERROR(Check("sync"));
    host_->Core().Mix(TraceKind::kDiskSync, host_->Index(), inode_);
    return host_->Disk().SyncFile(inode_);
  }

  Status Close() override {
    CAIRN_RETURN_IF_ERROR(Check("close"));
    host_->Disk().ReleaseHandle(inode_);
    closed_ = true;
    return OkStatus();
  }

 private:
  bool Usable() const { return !closed_ && !life_.expired() && host_->Incarnation() == incarnation_; }
  Status Check(const char* operation) const {
    if (closed_) return Status::FailedPrecondition(std::string(operation) + " on closed file '" + path_ + "'");
    if (life_.expired() || host_->Incarnation() != incarnation_) {
      return Status::IoError(std::string(operation) + " on '" + path_ + "': the host crashed");
    }
    return OkStatus();
  }

  std::weak_ptr<const int> life_;
  HostEnv* host_;
  uint64_t incarnation_;
  InodeId inode_;
  std::string path_;
  bool closed_ = false;
};

}  // namespace

HostEnv::HostEnv(SimCore& core, int index, std::string name, Prng random)
    : core_(core),
      index_(index),
      name_(std::move(name)),
      seed_random_(random.Fork()),
      disk_random_(random.Fork()),
      loop_thread_(std::this_thread::get_id()) {}

Status HostEnv::CheckUp(const char* operation) const {
  if (up_) return OkStatus();
  return Status::Unavailable(std::string(operation) + " on host " + name_ + ": the host is down");
}

MonoTime HostEnv::Now() { return core_.Now(); }

int64_t HostEnv::WallMillis() {
  return kSimWallEpochMillis +
         std::chrono::duration_cast<std::chrono::milliseconds>(core_.Now() - kSimStartTime).count();
}

TimerId HostEnv::StartTimer(Duration delay, std::function<void()> fn) {
  CAIRN_ASSERT(fn != nullptr, "StartTimer needs a callback");
  if (delay < Duration::zero()) delay = Duration::zero();
  const MonoTime due = core_.Now() + delay;
  if (!up_) {
    // A down host's code is dead; give it an id that can never fire.
    return core_.TakeSeq();
  }
  // The timer's id is its event's sequence number.
  const TimerId id = core_.TakeSeq();
  core_.ScheduleAs(EventKey{due, id}, Owner(), TraceKind::kTimer, id, [this, id, fn = std::move(fn)] {
    timers_.erase(id);
    fn();
  });
  timers_.emplace(id, due);
  return id;
}

bool HostEnv::CancelTimer(TimerId id) {
  const auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  const bool removed = core_.Unschedule(EventKey{it->second, id});
  timers_.erase(it);
  return removed;
}

uint64_t HostEnv::RandomSeed() { return seed_random_.Next64(); }

Result<std::unique_ptr<WritableFile>> HostEnv::OpenFile(const std::string& path, bool truncate) {
  CAIRN_RETURN_IF_ERROR(CheckUp("open"));
  CAIRN_ASSIGN_OR_RETURN(const InodeId inode, disk_.OpenForWrite(path, truncate));
  core_.Mix(TraceKind::kDiskDirChange, index_, DigestBytes(path) ^ (truncate ? 1 : 2));
  return std::unique_ptr<WritableFile>(std::make_unique<SimWritableFile>(*this, inode, path));
}

Result<std::unique_ptr<WritableFile>> HostEnv::NewWritableFile(const std::string& path) {
  return OpenFile(path, /*truncate=*/true);
}

Result<std::unique_ptr<WritableFile>> HostEnv::NewAppendableFile(const std::string& path) {
  return OpenFile(path, /*truncate=*/false);
}

Result<std::string> HostEnv::ReadFile(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(CheckUp("read"));
  return disk_.ReadFile(path);
}

Status HostEnv::RenameFile(const std::string& from, const std::string& to) {
  CAIRN_RETURN_IF_ERROR(CheckUp("rename"));
  core_.Mix(TraceKind::kDiskDirChange, index_, DigestBytes(from) ^ DigestBytes(to));
  return disk_.RenameFile(from, to);
}

Status HostEnv::RemoveFile(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(CheckUp("remove"));
  core_.Mix(TraceKind::kDiskDirChange, index_, DigestBytes(path));
  return disk_.RemoveFile(path);
}

Status HostEnv::CreateDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(CheckUp("mkdir"));
  return disk_.CreateDir(path);
}

Status HostEnv::SyncDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(CheckUp("syncdir"));
  core_.Mix(TraceKind::kDiskSyncDir, index_, DigestBytes(path));
  return disk_.SyncDir(path);
}

Result<std::vector<std::string>> HostEnv::ListDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(CheckUp("list"));
  return disk_.ListDir(path);
}

bool HostEnv::FileExists(const std::string& path) { return up_ && disk_.Exists(path); }

Result<std::unique_ptr<UdpSocket>> HostEnv::OpenUdp(const NetAddress& bind, UdpReceiveFn on_receive) {
  CAIRN_RETURN_IF_ERROR(CheckUp("udp bind"));
  CAIRN_ASSERT(on_receive != nullptr, "OpenUdp needs a receive callback");
  return core_.Network().OpenUdp(index_, bind, std::move(on_receive));
}

Result<std::unique_ptr<TcpListener>> HostEnv::ListenTcp(const NetAddress& bind, TcpAcceptFn on_accept) {
  CAIRN_RETURN_IF_ERROR(CheckUp("tcp listen"));
  CAIRN_ASSERT(on_accept != nullptr, "ListenTcp needs an accept callback");
  return core_.Network().ListenTcp(index_, bind, std::move(on_accept));
}

void HostEnv::ConnectTcp(const NetAddress& to, TcpConnectFn on_done) {
  CAIRN_ASSERT(on_done != nullptr, "ConnectTcp needs a completion callback");
  if (!up_) return;  // the caller's incarnation is dead: no callback, ever
  core_.Network().ConnectTcp(index_, to, std::move(on_done));
}

Status HostEnv::Post(std::function<void()> fn) {
  // The simulation is single-threaded by construction; a post from another thread would make
  // the run depend on the OS scheduler and break replay by seed.
  CAIRN_ASSERT(std::this_thread::get_id() == loop_thread_,
               "SimEnv::Post from another thread: simulated code must stay on the simulation thread");
  CAIRN_ASSERT(fn != nullptr, "Post needs a callback");
  CAIRN_RETURN_IF_ERROR(CheckUp("post"));
  if (posts_pending_ >= limits::kLoopPostQueueMax) {
    return Status::ResourceExhausted("post queue full (limits::kLoopPostQueueMax)");
  }
  ++posts_pending_;
  core_.Schedule(core_.Now(), Owner(), TraceKind::kPost, posts_pending_, [this, fn = std::move(fn)] {
    --posts_pending_;
    fn();
  });
  return OkStatus();
}

void HostEnv::OnCrash(double torn_probability) {
  CAIRN_ASSERT(up_, "crash of a host that is already down");
  up_ = false;
  ++incarnation_;
  for (const auto& [id, due] : timers_) (void)core_.Unschedule(EventKey{due, id});
  timers_.clear();
  posts_pending_ = 0;
  disk_.Crash(disk_random_, torn_probability);
}

void HostEnv::OnRestart() {
  CAIRN_ASSERT(!up_, "restart of a host that is up");
  up_ = true;
  ++incarnation_;
}

}  // namespace cairn::sim::internal
