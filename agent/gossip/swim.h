// Swim: the gossip membership core as a pure, deterministic state machine.
//
// SWIM (Das, Gupta, Motivala 2002) with the Lifeguard refinements (Dadgar et al. 2018), in the
// shape HashiCorp memberlist gives them:
//   - probing: each protocol period pick the next member of a shuffled round-robin list, ping it,
//     and if no ack comes within the probe timeout ask `indirect_checks` others to ping it
//     (ping-req) and ask the host for a TCP ping too; no ack by the end of the period -> suspect;
//   - suspicion: incarnation numbers order claims; a suspect refutes by raising its incarnation;
//     the suspicion timeout shrinks as independent confirmations arrive (see suspicion.h);
//   - local health (LHM): missed acks and nacks and refutations raise an awareness score that
//     stretches this node's probe interval and timeouts, so a slow node slows down instead of
//     accusing healthy ones;
//   - dissemination: updates ride on every outgoing packet and on periodic gossip to a few
//     random members (broadcast_queue.h); periodic push-pull full-state sync (the host carries it
//     over TCP) repairs anything gossip missed and rejoins partitioned clusters.
//
// Input:  Step(now, from, packet) for every UDP datagram or TCP reply; HandleStream for a TCP
//         request; Tick(now); Join, Leave, SetMetadata.
// Output: TakeReady(): datagrams to send, TCP requests to make (fallback pings and push-pulls,
//         whose replies come back through Step), and membership events.
// The core never reads a clock; `now` is always an argument. Its only randomness is a Prng
// seeded by SwimConfig::seed. All calls must come from one thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/gossip/broadcast_queue.h"
#include "agent/gossip/messages.h"
#include "agent/gossip/suspicion.h"
#include "agent/gossip/types.h"
#include "common/random.h"

namespace cairn::gossip {

using namespace std::chrono_literals;

struct SwimConfig {
  std::string name;
  NetAddress address;  // where others reach this node (UDP and TCP on the same port)
  Metadata meta;
  uint64_t seed = 0;

  Duration probe_interval = 1s;
  Duration probe_timeout = 500ms;
  uint32_t indirect_checks = 3;
  bool tcp_fallback_probe = true;
  uint32_t retransmit_mult = 4;
  uint32_t suspicion_mult = 4;
  uint32_t suspicion_max_timeout_mult = 6;
  // A suspicion backed by two members' refused pings (see Unreachable) lasts this many probe
  // intervals times max(1, log10 n) instead; 0 ignores refusals altogether. At most
  // suspicion_mult.
  uint32_t refused_suspicion_mult = 1;
  uint32_t awareness_max = 8;  // probe interval and timeouts stretch up to this many times
  Duration gossip_interval = 200ms;
  uint32_t gossip_nodes = 3;
  Duration gossip_to_dead = 30s;      // dead members still get gossip this long (to learn and refute)
  Duration push_pull_interval = 30s;  // scaled up with cluster size (PushPullInterval)
  Duration reconnect_interval = 30s;  // push-pull with a dead member or seed to heal partitions
  Duration reap_after = 10min;        // dead and left members are forgotten after this
  size_t udp_packet_bytes_max = kUdpPacketBytesMax;
};
Status ValidateConfig(const SwimConfig& config);

// memberlist's scaling: the base interval up to 32 members, then one more interval per
// doubling, so push-pull traffic per member stays bounded as the cluster grows.
Duration PushPullInterval(Duration base, size_t members);

struct OutPacket {
  NetAddress to;
  std::string bytes;
};

enum class StreamKind : uint8_t { kProbe, kPushPull, kJoin };
// A request the host sends over TCP. The host delivers the reply packet to Step (and drops the
// request silently if the connection fails or times out).
struct StreamRequest {
  StreamKind kind = StreamKind::kPushPull;
  NetAddress to;
  std::string bytes;
};

struct Ready {
  std::vector<OutPacket> packets;
  std::vector<StreamRequest> streams;
  std::vector<MemberEvent> events;
  bool Empty() const { return packets.empty() && streams.empty() && events.empty(); }
};

struct SwimStats {
  uint64_t packets_sent = 0;
  uint64_t bytes_sent = 0;
  uint64_t packets_received = 0;
  uint64_t bytes_received = 0;
  uint64_t packets_rejected = 0;
  uint64_t probes = 0;
  uint64_t probes_failed = 0;
  uint64_t refutations = 0;
  uint64_t refusals_heard = 0;      // Unreachable reports from the host
  uint64_t refused_suspicions = 0;  // suspicions this node raised with a confirmed refusal
};

// Lets the member index be searched by string_view without building a string.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class Swim {
 public:
  static Result<std::unique_ptr<Swim>> Create(const SwimConfig& config, MonoTime now);
  Swim(const Swim&) = delete;
  Swim& operator=(const Swim&) = delete;

  // --- input ---
  // A datagram, or the reply to a StreamRequest. Malformed packets are rejected with a Status
  // and change nothing.
  Status Step(MonoTime now, const NetAddress& from, std::string_view packet);
  // A request that arrived over TCP. Returns the reply packet: an ack for a ping, this node's
  // state for a push-pull.
  Result<std::string> HandleStream(MonoTime now, const NetAddress& from, std::string_view packet);
  void Tick(MonoTime now);
  // The host heard that a datagram to `to` was refused (ICMP port unreachable): the machine is
  // up and nothing listens there. A refusal never condemns a member by itself, as memberlist's
  // design warns against trusting such signals alone: it only speeds the probe along. The
  // prober stops waiting for a direct ack and asks relays at once; a relay whose own ping is
  // refused says so in its nack; and only when a relay confirms the refusal does the suspicion
  // carry `refused`, which shortens its timeout (refused_suspicion_mult) but still gives the
  // suspect its chance to refute.
  void Unreachable(MonoTime now, const NetAddress& to);
  // Asks each seed for a push-pull state exchange; the host retries until AliveCount() > 1.
  Status Join(MonoTime now, const std::vector<NetAddress>& seeds);
  // Broadcasts a leave with a raised incarnation; the host keeps ticking a little while so the
  // news spreads, then stops.
  void Leave(MonoTime now);
  // Declares a failed member left, as if it had left gracefully (Consul's force-leave): the
  // leave spreads, and everyone forgets the member after the reap window. kNotFound for an
  // unknown name, kFailedPrecondition for this node or a member that is not failed (a live
  // member would refute the claim anyway).
  Status ForceLeave(MonoTime now, const std::string& name);
  Status SetMetadata(MonoTime now, const Metadata& meta);

  // --- output ---
  Ready TakeReady();
  bool HasReady() const { return !ready_.Empty(); }

  // --- observation ---
  const std::string& Name() const { return config_.name; }
  const Member& Self() const { return members_[0]; }
  const std::vector<Member>& Members() const { return members_; }
  const Member* Find(std::string_view name) const;
  size_t AliveCount() const { return live_count_; }  // alive + suspect, self included
  uint32_t Awareness() const { return awareness_; }
  const SwimStats& Stats() const { return stats_; }
  size_t PendingBroadcasts() const { return broadcasts_.Size(); }
  // Current protocol period and probe timeout after local-health scaling.
  Duration ScaledProbeInterval() const { return config_.probe_interval * (awareness_ + 1); }
  Duration ScaledProbeTimeout() const { return config_.probe_timeout * (awareness_ + 1); }

 private:
  struct Probe {
    bool active = false;
    uint32_t seq = 0;
    std::string target;
    NetAddress address;
    MonoTime timeout_at;
    bool indirect_sent = false;
    bool acked = false;
    bool direct_ack = false;
    uint32_t nacks = 0;
    uint32_t expected_nacks = 0;
    bool refused = false;        // our own ping to the target was refused
    uint32_t refused_nacks = 0;  // relays whose pings were refused too
    bool RefusalConfirmed() const { return refused && refused_nacks > 0; }
  };
  struct Relay {
    NetAddress origin;
    uint32_t origin_seq = 0;
    NetAddress target_address;
    // The nack must reach the requester before its protocol period ends (one probe timeout
    // after it sent the ping-req), so it goes out at half a timeout; a later ack is still
    // forwarded until a full timeout has passed.
    MonoTime nack_at;
    MonoTime expire_at;
    bool nacked = false;
  };

  Swim(const SwimConfig& config, MonoTime now);

  // swim.cpp: packets and probing.
  void Dispatch(const NetAddress& from, Message& m);
  void OnPing(const NetAddress& from, const Ping& m);
  void OnAck(const Ack& m);
  void OnNack(const Nack& m);
  void OnPingReq(const NetAddress& from, const PingReq& m);
  void SendWithPiggyback(const NetAddress& to, const Message& primary);
  void StartProbe();
  void FinishProbe();
  // Ends the probe before its period is over once a relay has confirmed our refused ping.
  void FinishRefusedProbe();
  void SendIndirectProbes();
  void ExpireRelays();
  void Gossip();
  void ApplyAwareness(int delta);
  std::vector<size_t> RandomMembers(size_t count, const std::string& exclude, bool include_recent_dead);

  // swim_state.cpp: membership updates.
  void OnAlive(const Alive& m);
  // The member a suspect or dead message accuses, if the accusation still applies: unknown
  // members and stale incarnations are ignored, and one against ourselves is refuted instead.
  std::optional<size_t> AccusedMember(std::string_view name, uint64_t incarnation);
  void OnSuspect(const Suspect& m);
  void OnDead(const Dead& m);
  void OnLeave(const gossip::Leave& m);
  void MergeState(const PushPull& m);
  PushPull LocalState(bool join) const;
  void Refute(uint64_t accused_incarnation);
  void ExpireSuspicions();
  void ReapAndReconnect();
  void PeriodicPushPull();
  void SetState(size_t index, MemberState state);
  void Broadcast(const std::string& key, const Message& m);
  void Emit(EventKind kind, size_t index);
  size_t AddMember(const Alive& m);
  void RemoveMember(size_t index);
  uint32_t ExpectedConfirmations() const;
  Duration RefusedSuspicionTimeout() const;
  std::optional<size_t> IndexOf(std::string_view name) const;

  SwimConfig config_;
  Prng random_;
  MonoTime now_;
  // Invariant: members_[0] is this node; index_ maps every member's name to its position.
  std::vector<Member> members_;
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> index_;
  size_t live_count_ = 1;       // members in kAlive or kSuspect
  std::set<std::string> gone_;  // members in kDead or kLeft, for reaping and reconnects
  std::vector<std::string> probe_order_;
  size_t probe_position_ = 0;
  Probe probe_;
  std::map<uint32_t, Relay> relays_;  // bounded by kRelaysMax
  std::map<std::string, Suspicion> suspicions_;
  BroadcastQueue broadcasts_;
  uint32_t awareness_ = 0;  // in [0, awareness_max - 1]
  uint32_t next_seq_ = 1;
  bool leaving_ = false;
  std::vector<NetAddress> seeds_;
  MonoTime next_probe_at_;
  MonoTime next_gossip_at_;
  MonoTime next_push_pull_at_;
  MonoTime next_reconnect_at_;
  MonoTime next_reap_at_;
  MonoTime next_stranger_sync_at_;
  Ready ready_;
  SwimStats stats_;
};

}  // namespace cairn::gossip
