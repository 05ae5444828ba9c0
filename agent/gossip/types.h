// Gossip vocabulary: members, their states and metadata, and every bound of the gossip layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/env.h"
#include "common/status.h"

namespace cairn::gossip {

// Bounds. Every one is checked where the bounded thing is created or decoded.
inline constexpr size_t kNodeNameBytesMax = 128;
inline constexpr size_t kHostBytesMax = 64;           // dotted quad fits with room to spare
inline constexpr size_t kMetaFieldBytesMax = 128;     // one metadata field
inline constexpr size_t kMetaBytesMax = 512;          // all metadata fields together
inline constexpr size_t kMembersMax = 16384;          // members one node tracks (incl. dead)
inline constexpr size_t kMessagesPerPacketMax = 256;  // messages in one compound datagram
inline constexpr size_t kUdpPacketBytesMax = 1400;    // safe payload below common path MTUs
inline constexpr size_t kPushPullBytesMax = 8 << 20;  // one push-pull state over TCP
inline constexpr size_t kBroadcastsQueuedMax = 8192;  // pending piggyback updates
inline constexpr size_t kRelaysMax = 1024;            // ping-reqs relayed at once
inline constexpr size_t kIndirectChecksMax = 16;      // k in ping-req
inline constexpr uint32_t kAwarenessMax = 16;         // local health multiplier ceiling
inline constexpr size_t kSeedsMax = 64;               // join addresses

enum class MemberState : uint8_t { kAlive = 0, kSuspect = 1, kDead = 2, kLeft = 3 };
inline constexpr uint8_t kMemberStateMax = 3;
std::string_view MemberStateName(MemberState s);

// What an agent advertises about itself. Bounded by kMetaFieldBytesMax per field and
// kMetaBytesMax in total, so an alive update always fits in one datagram.
struct Metadata {
  std::string role;  // "server" or "client"
  std::string datacenter;
  std::string rpc_address;  // host:port of the server RPC endpoint, empty for clients
  std::string build;
  std::string http_address;  // host:port of the agent's HTTP API (servers forward writes there)
  friend bool operator==(const Metadata&, const Metadata&) = default;
};
// OK or InvalidArgument naming the field over its limit.
Status ValidateMetadata(const Metadata& meta);
Status ValidateNodeName(std::string_view name);

struct Member {
  std::string name;
  NetAddress address;
  Metadata meta;
  uint64_t incarnation = 0;
  MemberState state = MemberState::kAlive;
  MonoTime state_changed;  // local time of the last state change (for reaping)
};

enum class EventKind : uint8_t { kJoin, kUpdate, kSuspect, kFailed, kLeft, kReaped };
std::string_view EventKindName(EventKind k);

struct MemberEvent {
  EventKind kind = EventKind::kJoin;
  Member member;
};

}  // namespace cairn::gossip
