// The simulated network: directed links with faults and blocks, UDP sockets, TCP listeners and
// TCP connections.
//
// Internal to tests/sim. Each directed link (from, to) has its own Prng, seeded from the
// simulation's seed and the two host indexes, so a seed replays the same drops, duplicates and
// delays, and traffic on one link never shifts the random draws of another.
// Socket, listener and stream objects handed to code under test are thin handles over shared
// state that the network also holds; Crash marks that state dead, after which the handles fail
// quietly and their destruction is harmless.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/env.h"
#include "common/random.h"
#include "tests/sim/sim_core.h"

namespace cairn::sim::internal {

struct UdpState {
  int host = -1;
  NetAddress local;
  std::shared_ptr<UdpReceiveFn> on_receive;
  // Set by SetUnreachableHandler: told when a datagram it sent reaches an up host on a port
  // nothing is bound to, as the kernel reports ICMP port unreachable.
  std::shared_ptr<UdpUnreachableFn> on_unreachable;
  bool open = true;
};

struct ListenerState {
  int host = -1;
  NetAddress local;
  std::shared_ptr<TcpAcceptFn> on_accept;
  bool open = true;
};

enum class SideState : uint8_t {
  kOpen,           // usable; on_close not yet delivered
  kClosedLocally,  // Close() or destruction: never calls back again
  kEnded,          // on_close delivered (or pending delivery on Start)
  kDead,           // the host crashed
};

// One end of a TCP connection.
struct TcpSide {
  int host = -1;
  NetAddress local;
  NetAddress peer;
  SideState state = SideState::kOpen;
  bool started = false;
  bool wake_scheduled = false;
  // Handlers are shared so that a callback keeps its own std::function alive even if the
  // stream is closed or destroyed from inside it.
  std::shared_ptr<TcpStreamHandlers> handlers;
  // Bytes that arrived before Start (or while earlier ones wait), delivered in order.
  std::deque<std::string> inbox;
  std::optional<Status> pending_close;
  // Arrival time of the latest thing sent to this side; later sends never arrive earlier, which
  // keeps the stream ordered whatever delay each write draws.
  MonoTime last_arrival;
  // Bytes this side wrote that the peer has not consumed yet: what bounds the write queue.
  size_t unconsumed_bytes = 0;
};

struct TcpConnection {
  uint64_t id = 0;
  std::array<TcpSide, 2> sides;  // [0] connected, [1] accepted
  bool broken = false;           // reset: nothing more is delivered either way
};

class SimNetwork {
 public:
  SimNetwork(SimCore& core, uint64_t link_seed);

  void AddHost();

  // --- links ---
  void SetDefaultFaults(const LinkFaults& faults);
  void SetFaults(int from, int to, const LinkFaults& faults);
  void Block(int from, int to);
  void Unblock(int from, int to);
  void UnblockAll();
  bool Blocked(int from, int to) const;

  // Kills every socket, listener and stream end on `host` without calling back; peers of its
  // streams see a reset.
  void CrashHost(int host);

  // --- Env entry points (the host is up) ---
  Result<std::unique_ptr<UdpSocket>> OpenUdp(int host, const NetAddress& bind, UdpReceiveFn on_receive);
  Result<std::unique_ptr<TcpListener>> ListenTcp(int host, const NetAddress& bind, TcpAcceptFn on_accept);
  void ConnectTcp(int host, const NetAddress& to, TcpConnectFn on_done);

  // --- handle operations ---
  Status SendUdp(const UdpState& socket, const NetAddress& to, std::string_view datagram);
  void CloseUdp(const std::shared_ptr<UdpState>& socket);
  void CloseListener(const std::shared_ptr<ListenerState>& listener);
  void StartStream(const std::shared_ptr<TcpConnection>& conn, int side, TcpStreamHandlers handlers);
  Status WriteStream(const std::shared_ptr<TcpConnection>& conn, int side, std::string data);
  void CloseStream(const std::shared_ptr<TcpConnection>& conn, int side);

  size_t OpenConnections() const { return connections_.size(); }

 private:
  struct Link {
    explicit Link(Prng prng) : random(prng) {}
    Prng random;
    std::optional<LinkFaults> faults;  // nullopt: the default (or loopback) faults
    bool blocked = false;
  };
  struct HostTables {
    std::map<uint16_t, std::shared_ptr<UdpState>> udp;
    std::map<uint16_t, std::shared_ptr<ListenerState>> listeners;
    uint16_t next_ephemeral_port = kEphemeralPortFirst;
  };
  static constexpr uint16_t kEphemeralPortFirst = 49152;

  Link& LinkFor(int from, int to);
  const LinkFaults& FaultsOf(int from, int to, const Link& link) const;
  Duration DrawDelay(int from, int to);
  // Both directions must be unblocked for TCP to work.
  bool TcpPathOpen(int a, int b) const;
  // The host an address names from `from`'s point of view (loopback is `from`); -1 if none.
  int Resolve(int from, const std::string& host) const;
  Result<NetAddress> BindAddress(int host, const NetAddress& bind, bool tcp);
  uint16_t EphemeralPort(int host, bool tcp);

  // UDP (sim_network.cpp).
  void DeliverUdp(int to, uint16_t port, const NetAddress& from, const std::shared_ptr<const std::string>& datagram);
  // The destination host `to` answers a datagram for its closed `port` with port unreachable,
  // which travels back like a datagram (delay, loss, partitions) to the sender's socket
  // (`source_port` on host `source`).
  void RefuseUdp(int to, uint16_t port, int source, uint16_t source_port);

  // TCP (sim_tcp.cpp).
  void OnSyn(int client, uint64_t client_incarnation, int server, uint16_t port,
             const std::shared_ptr<TcpConnectFn>& on_done);
  void FailConnect(int client, MonoTime at, const std::shared_ptr<TcpConnectFn>& on_done, Status reason);
  std::shared_ptr<TcpConnection> NewConnection(int client, int server, uint16_t port);
  void OnTcpData(const std::shared_ptr<TcpConnection>& conn, int side, std::string& chunk);
  void OnTcpClose(const std::shared_ptr<TcpConnection>& conn, int side, const Status& arrived);
  void WakeSide(const std::shared_ptr<TcpConnection>& conn, int side);
  void ScheduleWake(const std::shared_ptr<TcpConnection>& conn, int side);
  // Marks the connection broken and schedules a reset to each end that is still open.
  void Reset(const std::shared_ptr<TcpConnection>& conn);
  void ResetStreamsBetween(int a, int b);
  void ForgetIfFinished(const std::shared_ptr<TcpConnection>& conn);

  SimCore& core_;
  uint64_t link_seed_;
  LinkFaults default_faults_;
  std::map<std::pair<int, int>, Link> links_;
  std::vector<HostTables> hosts_;
  std::map<uint64_t, std::shared_ptr<TcpConnection>> connections_;
  uint64_t next_connection_id_ = 1;
};

void CheckFaults(const LinkFaults& faults);

}  // namespace cairn::sim::internal
