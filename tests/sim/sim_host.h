// HostEnv: the Env of one simulated host.
//
// Internal to tests/sim. Time and timers come from the SimCore's event queue, files from the
// host's SimDisk, sockets from the SimNetwork. While the host is down every call fails (or, for
// timers and connects, never calls back): the code of a crashed incarnation is dead.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/env.h"
#include "common/random.h"
#include "tests/sim/sim_core.h"
#include "tests/sim/sim_disk.h"
#include "tests/sim/simulator.h"

namespace cairn::sim::internal {

class HostEnv final : public SimEnv {
 public:
  HostEnv(SimCore& core, int index, std::string name, Prng random);

  const std::string& Host() const override { return name_; }
  bool IsUp() const override { return up_; }

  MonoTime Now() override;
  int64_t WallMillis() override;
  TimerId StartTimer(Duration delay, std::function<void()> fn) override;
  bool CancelTimer(TimerId id) override;
  uint64_t RandomSeed() override;

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::string> ReadFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool FileExists(const std::string& path) override;

  Result<std::unique_ptr<UdpSocket>> OpenUdp(const NetAddress& bind, UdpReceiveFn on_receive) override;
  Result<std::unique_ptr<TcpListener>> ListenTcp(const NetAddress& bind, TcpAcceptFn on_accept) override;
  void ConnectTcp(const NetAddress& to, TcpConnectFn on_done) override;

  Status Post(std::function<void()> fn) override;

  // --- simulator side ---
  int Index() const { return index_; }
  uint64_t Incarnation() const { return incarnation_; }
  EventOwner Owner() const { return EventOwner{index_, incarnation_}; }
  SimDisk& Disk() { return disk_; }
  SimCore& Core() { return core_; }
  // Cancels timers and posts and drops unsynced disk state; the caller handles the network.
  void OnCrash(double torn_probability);
  void OnRestart();

 private:
  Status CheckUp(const char* operation) const;
  Result<std::unique_ptr<WritableFile>> OpenFile(const std::string& path, bool truncate);

  SimCore& core_;
  const int index_;
  const std::string name_;
  Prng seed_random_;
  Prng disk_random_;
  bool up_ = true;
  // Bumped by every Crash and Restart; events and handles of an older incarnation are dead.
  uint64_t incarnation_ = 1;
  std::map<TimerId, MonoTime> timers_;  // pending timers: id -> due time
  size_t posts_pending_ = 0;
  const std::thread::id loop_thread_;
  SimDisk disk_;
};

}  // namespace cairn::sim::internal
