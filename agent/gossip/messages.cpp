#include "agent/gossip/messages.h"

#include "common/codec.h"
#include "common/crc32c.h"

namespace cairn::gossip {
namespace {

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutAddress(Encoder& enc, const NetAddress& a) {
  enc.PutBytes(a.host);
  enc.PutVarint64(a.port);
}

void PutMeta(Encoder& enc, const Metadata& m) {
  enc.PutBytes(m.role);
  enc.PutBytes(m.datacenter);
  enc.PutBytes(m.rpc_address);
  enc.PutBytes(m.build);
  enc.PutBytes(m.http_address);
}

std::string ReadName(Decoder& dec, bool allow_empty = false) {
  std::string name(dec.ReadBytes(kNodeNameBytesMax));
  if (!dec.HasError() && name.empty() && !allow_empty) dec.Fail("empty node name");
  return name;
}

NetAddress ReadAddress(Decoder& dec) {
  NetAddress a;
  a.host = std::string(dec.ReadBytes(kHostBytesMax));
  const uint64_t port = dec.ReadVarint64();
  if (port > 65535) dec.Fail("port out of range");
  a.port = static_cast<uint16_t>(port);
  return a;
}

Metadata ReadMeta(Decoder& dec) {
  Metadata m;
  m.role = std::string(dec.ReadBytes(kMetaFieldBytesMax));
  m.datacenter = std::string(dec.ReadBytes(kMetaFieldBytesMax));
  m.rpc_address = std::string(dec.ReadBytes(kMetaFieldBytesMax));
  m.build = std::string(dec.ReadBytes(kMetaFieldBytesMax));
  m.http_address = std::string(dec.ReadBytes(kMetaFieldBytesMax));
  if (!dec.HasError() && !ValidateMetadata(m).IsOk()) dec.Fail("metadata over kMetaBytesMax");
  return m;
}

uint32_t ReadSeq(Decoder& dec) {
  const uint64_t v = dec.ReadVarint64();
  if (v > UINT32_MAX) dec.Fail("seq out of range");
  return static_cast<uint32_t>(v);
}

struct BodyEncoder {
  Encoder& enc;
  void operator()(const Ping& m) {
    enc.PutVarint64(m.seq);
    enc.PutBytes(m.target);
    enc.PutBytes(m.source);
  }
  void operator()(const Ack& m) {
    enc.PutVarint64(m.seq);
    enc.PutBytes(m.source);
  }
  void operator()(const Nack& m) {
    enc.PutVarint64(m.seq);
    enc.PutU8(m.refused ? 1 : 0);
  }
  void operator()(const PingReq& m) {
    enc.PutVarint64(m.seq);
    enc.PutBytes(m.target);
    PutAddress(enc, m.target_address);
    enc.PutBytes(m.source);
  }
  void operator()(const Alive& m) {
    enc.PutBytes(m.name);
    enc.PutVarint64(m.incarnation);
    PutAddress(enc, m.address);
    PutMeta(enc, m.meta);
  }
  void operator()(const Suspect& m) {
    enc.PutBytes(m.name);
    enc.PutVarint64(m.incarnation);
    enc.PutBytes(m.from);
    enc.PutU8(m.refused ? 1 : 0);
  }
  void operator()(const Dead& m) {
    enc.PutBytes(m.name);
    enc.PutVarint64(m.incarnation);
    enc.PutBytes(m.from);
  }
  void operator()(const Leave& m) {
    enc.PutBytes(m.name);
    enc.PutVarint64(m.incarnation);
  }
  void operator()(const PushPull& m) {
    enc.PutU8(m.join ? 1 : 0);
    enc.PutBytes(m.source);
    enc.PutVarint64(m.members.size());
    for (const PushPullEntry& e : m.members) {
      enc.PutBytes(e.name);
      PutAddress(enc, e.address);
      PutMeta(enc, e.meta);
      enc.PutVarint64(e.incarnation);
      enc.PutU8(static_cast<uint8_t>(e.state));
    }
  }
};

bool ReadFlag(Decoder& dec, std::string_view what) {
  const uint8_t flag = dec.ReadU8();
  if (flag > 1) dec.Fail(std::string(what) + " not 0 or 1");
  return flag == 1;
}

PushPull ReadPushPull(Decoder& dec) {
  PushPull m;
  m.join = ReadFlag(dec, "join flag");
  m.source = ReadName(dec);
  const uint64_t n = dec.ReadVarint64();
  if (n > kMembersMax) dec.Fail("push-pull over kMembersMax members");
  for (uint64_t i = 0; i < n && !dec.HasError(); ++i) {
    PushPullEntry e;
    e.name = ReadName(dec);
    e.address = ReadAddress(dec);
    e.meta = ReadMeta(dec);
    e.incarnation = dec.ReadVarint64();
    const uint8_t state = dec.ReadU8();
    if (state > kMemberStateMax) dec.Fail("unknown member state");
    e.state = static_cast<MemberState>(state);
    m.members.push_back(std::move(e));
  }
  return m;
}

Message ReadMessage(Decoder& dec) {
  const uint8_t type = dec.ReadU8();
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPing: {
      Ping m;
      m.seq = ReadSeq(dec);
      m.target = ReadName(dec);
      m.source = ReadName(dec);
      return m;
    }
    case MessageType::kAck: {
      Ack m;
      m.seq = ReadSeq(dec);
      m.source = ReadName(dec);
      return m;
    }
    case MessageType::kNack: {
      Nack m;
      m.seq = ReadSeq(dec);
      m.refused = ReadFlag(dec, "nack refused flag");
      return m;
    }
    case MessageType::kPingReq: {
      PingReq m;
      m.seq = ReadSeq(dec);
      m.target = ReadName(dec);
      m.target_address = ReadAddress(dec);
      m.source = ReadName(dec);
      return m;
    }
    case MessageType::kAlive: {
      Alive m;
      m.name = ReadName(dec);
      m.incarnation = dec.ReadVarint64();
      m.address = ReadAddress(dec);
      m.meta = ReadMeta(dec);
      return m;
    }
    case MessageType::kSuspect:
    case MessageType::kDead: {
      std::string name = ReadName(dec);
      const uint64_t inc = dec.ReadVarint64();
      std::string from = ReadName(dec);
      if (static_cast<MessageType>(type) == MessageType::kSuspect) {
        return Suspect{name, inc, from, ReadFlag(dec, "suspect refused flag")};
      }
      return Dead{name, inc, from};
    }
    case MessageType::kLeave: {
      std::string name = ReadName(dec);
      return Leave{name, dec.ReadVarint64()};
    }
    case MessageType::kPushPull: return ReadPushPull(dec);
  }
  if (!dec.HasError()) dec.Fail("unknown message type " + std::to_string(type));
  return Nack{};
}

}  // namespace

std::string_view MemberStateName(MemberState s) {
  switch (s) {
    case MemberState::kAlive: return "alive";
    case MemberState::kSuspect: return "suspect";
    case MemberState::kDead: return "dead";
    case MemberState::kLeft: return "left";
  }
  return "?";
}

std::string_view EventKindName(EventKind k) {
  switch (k) {
    case EventKind::kJoin: return "join";
    case EventKind::kUpdate: return "update";
    case EventKind::kSuspect: return "suspect";
    case EventKind::kFailed: return "failed";
    case EventKind::kLeft: return "left";
    case EventKind::kReaped: return "reaped";
  }
  return "?";
}

Status ValidateMetadata(const Metadata& m) {
  const std::pair<std::string_view, const std::string*> fields[] = {{"role", &m.role},
                                                                    {"datacenter", &m.datacenter},
                                                                    {"rpc_address", &m.rpc_address},
                                                                    {"build", &m.build},
                                                                    {"http_address", &m.http_address}};
  size_t total = 0;
  for (const auto& [name, value] : fields) {
    if (value->size() > kMetaFieldBytesMax) {
      return Status::InvalidArgument("metadata field " + std::string(name) + " is " + std::to_string(value->size()) +
                                     " bytes, over kMetaFieldBytesMax (" + std::to_string(kMetaFieldBytesMax) + ")");
    }
    total += value->size();
  }
  if (total > kMetaBytesMax) {
    return Status::InvalidArgument("metadata is " + std::to_string(total) + " bytes, over kMetaBytesMax (" +
                                   std::to_string(kMetaBytesMax) + ")");
  }
  return OkStatus();
}

Status ValidateNodeName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("node name is empty");
  if (name.size() > kNodeNameBytesMax) {
    return Status::InvalidArgument("node name is " + std::to_string(name.size()) + " bytes, over kNodeNameBytesMax (" +
                                   std::to_string(kNodeNameBytesMax) + ")");
  }
  return OkStatus();
}

MessageType TypeOf(const Message& m) { return static_cast<MessageType>(m.index() + 1); }

std::string_view MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kPing: return "ping";
    case MessageType::kAck: return "ack";
    case MessageType::kNack: return "nack";
    case MessageType::kPingReq: return "ping-req";
    case MessageType::kAlive: return "alive";
    case MessageType::kSuspect: return "suspect";
    case MessageType::kDead: return "dead";
    case MessageType::kLeave: return "leave";
    case MessageType::kPushPull: return "push-pull";
  }
  return "?";
}

std::string EncodeMessage(const Message& m) {
  Encoder enc;
  enc.PutU8(static_cast<uint8_t>(TypeOf(m)));
  std::visit(BodyEncoder{enc}, m);
  return enc.Take();
}

size_t PacketOverheadBytes(size_t count) { return kPacketHeaderBytes + VarintSize(count); }

std::string EncodePacketFromEncoded(const std::vector<std::string_view>& encoded) {
  CAIRN_ASSERT(!encoded.empty() && encoded.size() <= kMessagesPerPacketMax, "packet message count out of range");
  std::string body;
  AppendVarint64(body, encoded.size());
  for (std::string_view e : encoded) body.append(e);
  Encoder enc;
  enc.PutU8(kWireVersion);
  enc.PutFixed32(Crc32c(body));
  enc.PutRaw(body);
  return enc.Take();
}

std::string EncodePacket(const std::vector<Message>& messages) {
  std::vector<std::string> encoded;
  encoded.reserve(messages.size());
  for (const Message& m : messages) encoded.push_back(EncodeMessage(m));
  return EncodePacketFromEncoded(std::vector<std::string_view>(encoded.begin(), encoded.end()));
}

Result<std::vector<Message>> DecodePacket(std::string_view packet, size_t packet_bytes_max) {
  if (packet.size() > packet_bytes_max) {
    return Status::InvalidArgument("gossip packet of " + std::to_string(packet.size()) + " bytes over its limit of " +
                                   std::to_string(packet_bytes_max));
  }
  Decoder header(packet, "gossip packet");
  const uint8_t version = header.ReadU8();
  const uint32_t crc = header.ReadFixed32();
  CAIRN_RETURN_IF_ERROR(header.Finish(/*require_end=*/false));
  if (version != kWireVersion) {
    return Status::InvalidArgument("gossip packet version " + std::to_string(version) + ", expected " +
                                   std::to_string(kWireVersion));
  }
  const std::string_view body = packet.substr(kPacketHeaderBytes);
  if (Crc32c(body) != crc) return Status::Corruption("gossip packet checksum mismatch");
  Decoder dec(body, "gossip packet");
  const uint64_t count = dec.ReadVarint64();
  if (!dec.HasError() && (count == 0 || count > kMessagesPerPacketMax)) dec.Fail("message count out of range");
  std::vector<Message> out;
  for (uint64_t i = 0; i < count && !dec.HasError(); ++i) out.push_back(ReadMessage(dec));
  CAIRN_RETURN_IF_ERROR(dec.Finish(/*require_end=*/true));
  return out;
}

}  // namespace cairn::gossip
