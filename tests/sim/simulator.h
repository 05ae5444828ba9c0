// A deterministic discrete-event simulator that implements Env.
//
// One Simulator holds virtual time, one event queue and one seed. Each simulated host gets its
// own SimEnv (an Env) with an IPv4 address such as "10.0.0.1"; code under test runs on those
// Envs exactly as it runs on the real libuv Env. Everything random (network faults, torn
// writes, Env::RandomSeed) is drawn from the seed, and events at equal times run in the order
// they were scheduled, so a seed replays bit for bit; TraceHash() proves it.
//
// Network model:
//   - UDP datagrams may be dropped, delayed (uniform in [delay_min, delay_max], so they may be
//     reordered) and duplicated, per directed link.
//   - TCP streams are reliable and ordered while their link is up; a blocked link (partition)
//     resets every stream crossing it (both ends see on_close with a non-OK status after the
//     link's delay) and refuses new connects across it.
//   - A blocked link may be one-way (BlockLink) or both ways (Partition).
// Disk model (per host, in memory):
//   - written bytes and directory entries are volatile until WritableFile::Sync / SyncDir;
//   - Crash(host) throws away every unsynced byte and every unsynced directory change; with
//     DiskFaults::torn_write_probability it keeps a random prefix of the last unsynced append
//     (a torn write) instead.
// Crash(host) also cancels the host's timers and closes its sockets without running any of its
// callbacks again: the objects of the crashed incarnation are dead. Restart(host) brings the
// host back with its surviving disk; the test then builds fresh components on the same SimEnv.
//
// Details the summary above leaves open:
//   - Virtual time starts at MonoTime(1h) (so `Now() - timeout` stays positive); WallMillis()
//     starts at 2026-01-01T00:00:00Z and advances with virtual time.
//   - Hosts are named by their address. "127.0.0.1" and "localhost" mean the host itself; a
//     socket may bind "", "0.0.0.0", "127.0.0.1" or its own address, and reports its own address.
//   - Loopback traffic (a host to itself) has no faults and a 10us delay unless SetLinkFaults
//     sets that link explicitly.
//   - UDP: a datagram is also lost if its link is blocked when it arrives. A datagram that
//     reaches an up host on a port nothing is bound to is answered with port unreachable, which
//     comes back over the reverse link (delay, loss, blocks) to a sender that asked for it
//     (UdpSocket::SetUnreachableHandler), as the kernel does after a process dies. A down host
//     answers nothing: a crash models the machine going away.
//   - TCP: a one-way block also resets streams (TCP needs both directions). A connect to an
//     unknown or partitioned host, or to a port nobody listens on, fails with kUnavailable after
//     about a round trip. Some writes reach the reader split in two chunks, as real TCP may do.
//     QueuedBytes() counts bytes the peer has not consumed yet (in flight, or waiting for the
//     peer's Start), so a peer that never starts reading makes Write hit the queue bound.
//   - While a host is down its SimEnv refuses files and sockets (kUnavailable), its timers and
//     connects never fire, and handles from the crashed incarnation fail quietly; Crash of a
//     down host and Restart of an up host do nothing.
//   - Directories are durable once created; file entries (create, rename, remove) need SyncDir
//     of the parent. NewWritableFile on an existing file truncates it; the old bytes come back
//     on a crash until the file is synced.
//   - Handles (files, sockets, streams) may outlive the Simulator; after it is gone they fail
//     and their destruction is harmless.
//   - Everything runs on the thread that created the Simulator; Post from another thread
//     asserts, because it would make the run depend on the OS scheduler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/random.h"

namespace cairn::sim {

struct LinkFaults {
  double drop_probability = 0.0;       // UDP only
  double duplicate_probability = 0.0;  // UDP only
  Duration delay_min = std::chrono::microseconds(100);
  Duration delay_max = std::chrono::microseconds(100);
};

struct DiskFaults {
  double torn_write_probability = 0.0;  // on Crash, keep a random prefix of the last unsynced append
};

class Simulator;

// The Env of one simulated host. Obtained from Simulator::AddNode; owned by the Simulator.
class SimEnv : public Env {
 public:
  ~SimEnv() override = default;
  virtual const std::string& Host() const = 0;
  virtual bool IsUp() const = 0;
};

class Simulator {
 public:
  explicit Simulator(uint64_t seed);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  uint64_t Seed() const;
  // The simulation's own stream, for tests that draw faults or workloads from the seed.
  Prng& Random();

  // --- hosts ---
  SimEnv& AddNode(const std::string& host);
  SimEnv& Node(std::string_view host);
  std::vector<std::string> Hosts() const;
  // Crash: cancel timers, close sockets silently, drop unsynced disk state. Restart: up again.
  void Crash(std::string_view host);
  void Restart(std::string_view host);

  // --- time ---
  MonoTime Now() const;
  // Runs the next event; false when the queue is empty.
  bool RunOne();
  // Runs every event due at or before `deadline`, then sets the clock to `deadline`.
  void RunUntil(MonoTime deadline);
  void RunFor(Duration duration);
  // Runs until `done()` is true (checked after every event) or `limit` of virtual time passes.
  bool RunUntilTrue(const std::function<bool()>& done, Duration limit);
  uint64_t EventsRun() const;
  // Events waiting in the queue (including ones that will be skipped because their host crashed).
  size_t PendingEvents() const;

  // --- network ---
  void SetDefaultLinkFaults(const LinkFaults& faults);
  void SetLinkFaults(std::string_view from, std::string_view to, const LinkFaults& faults);
  void BlockLink(std::string_view from, std::string_view to);  // one-way
  void UnblockLink(std::string_view from, std::string_view to);
  void Partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b);
  void HealAll();  // unblocks every link (faults stay)
  bool LinkBlocked(std::string_view from, std::string_view to) const;
  // TCP connections with at least one end still open, for leak checks.
  size_t OpenTcpConnections() const;

  // --- disk ---
  void SetDiskFaults(const DiskFaults& faults);
  // The bytes of `path` on `host` that a crash right now would keep (ignoring torn writes), or
  // nullopt if the file would not survive at all.
  std::optional<std::string> DurableFileContents(std::string_view host, const std::string& path) const;

  // --- determinism ---
  // A hash over every event run so far (time, host, kind, payload digest).
  uint64_t TraceHash() const;
  // "seed=<n>" plus how to rerun it, for failure messages.
  std::string ReproHint(std::string_view test_binary, std::string_view test_case) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::sim
