// GossipHost: runs a Swim core on an Env.
//
// One UDP socket carries probes and gossip; a TCP listener on the same port serves fallback
// pings and push-pull exchanges (one length-prefixed, checksummed frame each way, see
// common/framing.h). A repeating timer ticks the core. After every input the host drains the
// core's Ready: sends datagrams, opens TCP requests (replies go back into the core), and
// reports membership events to the callback. Works unchanged on UvEnv and on the simulator.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "agent/gossip/swim.h"
#include "common/env.h"
#include "common/framing.h"
#include "common/log.h"

namespace cairn::gossip {

inline constexpr size_t kTcpConnectionsMax = 128;  // open fallback-probe and push-pull streams

struct GossipHostConfig {
  // swim.address is also the address bound (UDP and TCP); port 0 picks a free port.
  SwimConfig swim;
  Duration tick_interval = 100ms;
  Duration tcp_timeout = 5s;  // a TCP exchange not finished by then is dropped
  Duration join_retry_interval = 5s;
  uint32_t join_retries_max = 30;
};

using MemberEventFn = std::function<void(const MemberEvent&)>;

struct HostStats {
  uint64_t tcp_requests = 0;
  uint64_t tcp_failures = 0;
  uint64_t tcp_bytes_sent = 0;
  uint64_t udp_send_failures = 0;
};

class GossipHost {
 public:
  // Binds the sockets and starts ticking. `logger` may be null; it must outlive the host.
  static Result<std::unique_ptr<GossipHost>> Start(Env& env, const GossipHostConfig& config, MemberEventFn on_event,
                                                   Logger* logger = nullptr);
  ~GossipHost();
  GossipHost(const GossipHost&) = delete;
  GossipHost& operator=(const GossipHost&) = delete;

  // Pushes and pulls state with the seeds, retrying every join_retry_interval while this node
  // knows no one else.
  Status Join(const std::vector<NetAddress>& seeds);
  void Leave();
  Status ForceLeave(const std::string& name);  // Swim::ForceLeave
  Status SetMetadata(const Metadata& meta);

  const Swim& Core() const { return *core_; }
  const HostStats& Stats() const { return stats_; }

 private:
  struct Connection {
    std::unique_ptr<TcpStream> stream;
    FrameDecoder decoder{kPushPullBytesMax};
    TimerId timeout = 0;
    bool inbound = false;
  };

  GossipHost(Env& env, const GossipHostConfig& config, MemberEventFn on_event, Logger* logger);
  void OnTick();
  void ArmTick();
  void ArmJoinRetry();
  void Drain();
  void StartRequest(StreamRequest request);
  // Opens the UDP socket and TCP listener on `address`, filling in the port when it is 0.
  Status OpenSockets(NetAddress& address);
  void Attach(uint64_t id, std::unique_ptr<TcpStream> stream, bool inbound);
  void OnStreamData(uint64_t id, std::string_view data);
  void CloseConnection(uint64_t id);
  void LogRejected(const Status& status);

  Env& env_;
  GossipHostConfig config_;
  MemberEventFn on_event_;
  Logger* logger_;
  std::unique_ptr<Swim> core_;
  std::unique_ptr<UdpSocket> udp_;
  std::unique_ptr<TcpListener> listener_;
  std::map<uint64_t, Connection> connections_;  // bounded by kTcpConnectionsMax
  uint64_t next_connection_id_ = 1;
  TimerId tick_timer_ = 0;
  TimerId join_timer_ = 0;
  std::vector<NetAddress> seeds_;
  uint32_t join_retries_ = 0;
  HostStats stats_;
  // Callbacks that may outlive the host (connects in flight) check this first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cairn::gossip
