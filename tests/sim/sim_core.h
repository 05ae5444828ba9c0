// The simulator's core: virtual time, the event queue, the hosts and the trace hash.
//
// Internal to tests/sim. Simulator (simulator.h) is a thin facade over SimCore; HostEnv,
// SimNetwork and SimDisk hang off it.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/random.h"
#include "tests/sim/simulator.h"

namespace cairn::sim::internal {

class HostEnv;
class SimNetwork;

// Virtual time starts an hour after the clock's zero so that code computing `Now() - timeout`
// never produces a time point before the epoch.
inline constexpr MonoTime kSimStartTime{std::chrono::hours(1)};
// WallMillis() at kSimStartTime: 2026-01-01T00:00:00Z. Fixed, so logs replay identically.
inline constexpr int64_t kSimWallEpochMillis = 1767225600000;

// What an event or a traced side effect was; mixed into the trace hash.
enum class TraceKind : uint8_t {
  kTimer = 1,
  kPost,
  kUdpDelivery,
  kTcpSyn,
  kTcpConnectDone,
  kTcpData,
  kTcpClose,
  kTcpWake,
  kCrash,
  kRestart,
  kLinkChange,
  kDiskAppend,
  kDiskSync,
  kDiskDirChange,
  kDiskSyncDir,
};

// An event owned by a host incarnation dies with it: Crash bumps the host's incarnation and the
// queue skips the event. Incarnation 0 means the event survives crashes and re-checks the world
// when it runs (a datagram in flight, for example).
struct EventOwner {
  int host = -1;
  uint64_t incarnation = 0;
};

// Events run in (time, seq) order; seq grows with every Schedule call, so events at equal times
// run in the order they were scheduled.
struct EventKey {
  MonoTime time;
  uint64_t seq = 0;
  friend auto operator<=>(const EventKey&, const EventKey&) = default;
};

// A 64-bit digest of a byte string, for the trace hash.
uint64_t DigestBytes(std::string_view bytes);
// Mixes `value` into `state` (order-sensitive).
uint64_t MixInto(uint64_t state, uint64_t value);

class SimCore {
 public:
  explicit SimCore(uint64_t seed);
  ~SimCore();
  SimCore(const SimCore&) = delete;
  SimCore& operator=(const SimCore&) = delete;

  uint64_t Seed() const { return seed_; }
  Prng& TestRandom() { return test_random_; }

  // --- hosts ---
  HostEnv& AddHost(const std::string& name);
  int FindHost(std::string_view name) const;  // -1 when unknown
  HostEnv& HostAt(int index);
  HostEnv& HostNamed(std::string_view name);  // asserts that the host exists
  int HostCount() const { return static_cast<int>(hosts_.size()); }
  std::vector<std::string> HostNames() const;
  void Crash(int index);
  void Restart(int index);

  // --- time and events ---
  MonoTime Now() const { return now_; }
  // Schedules `fn` at `at` (clamped to now). During teardown nothing is scheduled.
  EventKey Schedule(MonoTime at, EventOwner owner, TraceKind kind, uint64_t digest, std::function<void()> fn);
  // Reserves a sequence number, for an event whose id must be known before it is scheduled
  // (ScheduleAs), or for an id that must never fire.
  uint64_t TakeSeq() { return next_seq_++; }
  // Schedules at a key whose seq came from TakeSeq; the time must not be in the past.
  void ScheduleAs(EventKey key, EventOwner owner, TraceKind kind, uint64_t digest, std::function<void()> fn);
  // Removes a pending event; false if it already ran or was removed.
  bool Unschedule(const EventKey& key);
  bool RunOne();
  void RunUntil(MonoTime deadline);
  bool RunUntilTrue(const std::function<bool()>& done, Duration limit);
  uint64_t EventsRun() const { return events_run_; }
  size_t PendingEvents() const { return queue_.size(); }

  // --- trace ---
  void Mix(TraceKind kind, int host, uint64_t digest);
  uint64_t TraceHash() const { return trace_; }

  SimNetwork& Network() { return *network_; }
  const SimNetwork& Network() const { return *network_; }
  const DiskFaults& GetDiskFaults() const { return disk_faults_; }
  void SetDiskFaults(const DiskFaults& faults);

  // Handles given to code under test (files, sockets, streams) hold this weakly: once it has
  // expired the simulator is gone and the handle must not touch it.
  std::weak_ptr<const int> LifeToken() const { return life_; }

 private:
  struct Event {
    EventOwner owner;
    TraceKind kind;
    uint64_t digest = 0;
    std::function<void()> fn;
  };
  bool IsStale(const Event& event) const;
  // Drops dead events at the head of the queue; true if a live one remains there.
  bool SkipStaleHead();

  uint64_t seed_;
  Prng master_;
  Prng test_random_;
  Prng host_forks_;
  MonoTime now_ = kSimStartTime;
  uint64_t next_seq_ = 1;
  uint64_t events_run_ = 0;
  uint64_t trace_ = 0;
  bool tearing_down_ = false;
  std::shared_ptr<const int> life_;
  DiskFaults disk_faults_;
  std::vector<std::unique_ptr<HostEnv>> hosts_;
  std::map<std::string, int, std::less<>> host_index_;
  std::unique_ptr<SimNetwork> network_;
  std::map<EventKey, Event> queue_;
};

}  // namespace cairn::sim::internal
