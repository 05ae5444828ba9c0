// Gossip wire messages and their binary codec.
//
// Every datagram (and every TCP frame payload) is one packet:
//   u8       version (kWireVersion)
//   fixed32  CRC-32C of every byte after it
//   varint   message count (1..kMessagesPerPacketMax)
//   message* each: u8 type, then the type's fields
// A packet with several messages is a compound packet: a probe plus piggybacked updates. A
// single-message packet has the same layout, so there is one decoder and one checksum rule.
// Decoding is strict: wrong version, bad checksum, unknown type, out-of-range field, limit
// exceeded or trailing bytes reject the whole packet with kCorruption or kInvalidArgument, and
// the caller changes nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/gossip/types.h"
#include "common/status.h"

namespace cairn::gossip {

inline constexpr uint8_t kWireVersion = 1;
// version + crc + a 1-byte count: the least a packet can be.
inline constexpr size_t kPacketHeaderBytes = 1 + 4;

enum class MessageType : uint8_t {
  kPing = 1,
  kAck = 2,
  kNack = 3,
  kPingReq = 4,
  kAlive = 5,
  kSuspect = 6,
  kDead = 7,
  kLeave = 8,
  kPushPull = 9,
};
inline constexpr uint8_t kMessageTypeMax = 9;

struct Ping {
  uint32_t seq = 0;
  std::string target;  // the name the prober expects; a node with another name ignores it
  std::string source;
  friend bool operator==(const Ping&, const Ping&) = default;
};
struct Ack {
  uint32_t seq = 0;
  std::string source;
  friend bool operator==(const Ack&, const Ack&) = default;
};
// From a ping-req relay that could not reach the target: proof the relay itself is reachable,
// so the prober does not blame its own health for the missing ack.
struct Nack {
  uint32_t seq = 0;
  // The relay's ping was answered with port unreachable: the relay saw for itself that nothing
  // listens at the target's address.
  bool refused = false;
  friend bool operator==(const Nack&, const Nack&) = default;
};
struct PingReq {
  uint32_t seq = 0;  // the requester's seq, echoed in the forwarded ack or nack
  std::string target;
  NetAddress target_address;
  std::string source;
  friend bool operator==(const PingReq&, const PingReq&) = default;
};
struct Alive {
  std::string name;
  uint64_t incarnation = 0;
  NetAddress address;
  Metadata meta;
  friend bool operator==(const Alive&, const Alive&) = default;
};
struct Suspect {
  std::string name;
  uint64_t incarnation = 0;
  std::string from;  // the accuser; distinct accusers confirm a suspicion
  // Two members saw the suspect's port refuse their pings (see Swim::Unreachable), so its
  // process is gone and the suspicion may end sooner; the suspect can still refute.
  bool refused = false;
  friend bool operator==(const Suspect&, const Suspect&) = default;
};
struct Dead {
  std::string name;
  uint64_t incarnation = 0;
  std::string from;
  friend bool operator==(const Dead&, const Dead&) = default;
};
struct Leave {
  std::string name;
  uint64_t incarnation = 0;
  friend bool operator==(const Leave&, const Leave&) = default;
};
struct PushPullEntry {
  std::string name;
  NetAddress address;
  Metadata meta;
  uint64_t incarnation = 0;
  MemberState state = MemberState::kAlive;
  friend bool operator==(const PushPullEntry&, const PushPullEntry&) = default;
};
struct PushPull {
  bool join = false;
  std::string source;
  std::vector<PushPullEntry> members;
  friend bool operator==(const PushPull&, const PushPull&) = default;
};

using Message = std::variant<Ping, Ack, Nack, PingReq, Alive, Suspect, Dead, Leave, PushPull>;

MessageType TypeOf(const Message& m);
std::string_view MessageTypeName(MessageType t);

// One message's bytes (type byte + fields), for the broadcast queue to pack later.
std::string EncodeMessage(const Message& m);
// Wraps already-encoded messages into a packet (header, count, checksum).
std::string EncodePacketFromEncoded(const std::vector<std::string_view>& encoded_messages);
std::string EncodePacket(const std::vector<Message>& messages);
// Bytes a packet adds around its messages, for `count` messages.
size_t PacketOverheadBytes(size_t count);

// Strictly decodes a packet of at most `packet_bytes_max` bytes.
Result<std::vector<Message>> DecodePacket(std::string_view packet, size_t packet_bytes_max = kPushPullBytesMax);

}  // namespace cairn::gossip
