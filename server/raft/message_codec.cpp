#include "server/raft/message_codec.h"

#include "common/codec.h"
#include "common/limits.h"

namespace cairn::raft {
namespace {

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagTransfer = 2;
constexpr uint8_t kMessageTypeMax = static_cast<uint8_t>(MessageType::kReadIndexResponse);

void PutIds(Encoder& enc, const std::vector<NodeId>& ids) {
  enc.PutVarint64(ids.size());
  for (NodeId id : ids) enc.PutVarint64(id.value);
}

std::vector<NodeId> ReadIds(Decoder& dec) {
  const uint64_t n = dec.ReadVarint64();
  if (n > kConfigMembersMax) {
    dec.Fail("too many members");
    return {};
  }
  std::vector<NodeId> ids;
  for (uint64_t i = 0; i < n && !dec.HasError(); ++i) ids.push_back(NodeId(dec.ReadVarint64()));
  return ids;
}

void PutEntry(Encoder& enc, const Entry& e) {
  enc.PutVarint64(e.term.value);
  enc.PutVarint64(e.index.value);
  enc.PutU8(static_cast<uint8_t>(e.type));
  enc.PutBytes(e.data);
}

Entry ReadEntry(Decoder& dec) {
  Entry e;
  e.term = Term(dec.ReadVarint64());
  e.index = Index(dec.ReadVarint64());
  const uint8_t type = dec.ReadU8();
  if (type > static_cast<uint8_t>(EntryType::kConfigChange)) dec.Fail("unknown entry type");
  e.type = static_cast<EntryType>(type);
  e.data = std::string(dec.ReadBytes(limits::kFramePayloadBytesMax));
  return e;
}

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResponse: return "PreVoteResp";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResponse: return "VoteResp";
    case MessageType::kAppend: return "App";
    case MessageType::kAppendResponse: return "AppResp";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResponse: return "HeartbeatResp";
    case MessageType::kSnapshot: return "Snapshot";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResponse: return "ReadIndexResp";
  }
  return "?";
}

std::string EncodeMessage(const Message& m) {
  Encoder enc;
  enc.PutU8(kMessageCodecVersion);
  enc.PutU8(static_cast<uint8_t>(m.type));
  enc.PutVarint64(m.from.value);
  enc.PutVarint64(m.to.value);
  enc.PutVarint64(m.term.value);
  enc.PutVarint64(m.log_term.value);
  enc.PutVarint64(m.index.value);
  enc.PutVarint64(m.commit.value);
  enc.PutU8(static_cast<uint8_t>((m.reject ? kFlagReject : 0) | (m.transfer ? kFlagTransfer : 0)));
  enc.PutVarint64(m.reject_hint.value);
  enc.PutVarint64(m.hint_term.value);
  enc.PutVarint64(m.round);
  enc.PutBytes(m.context);
  enc.PutVarint64(m.entries.size());
  for (const Entry& e : m.entries) PutEntry(enc, e);
  const bool has_snapshot = m.type == MessageType::kSnapshot;
  enc.PutU8(has_snapshot ? 1 : 0);
  if (has_snapshot) {
    const SnapshotMeta& meta = m.snapshot.meta;
    enc.PutVarint64(meta.index.value);
    enc.PutVarint64(meta.term.value);
    PutIds(enc, meta.configuration.voters);
    PutIds(enc, meta.configuration.learners);
    enc.PutBytes(m.snapshot.data);
  }
  return enc.Take();
}

Result<Message> DecodeMessage(std::string_view bytes) {
  Decoder dec(bytes, "raft message");
  Message m;
  if (dec.ReadU8() != kMessageCodecVersion) dec.Fail("unknown version");
  const uint8_t type = dec.ReadU8();
  if (type > kMessageTypeMax) dec.Fail("unknown message type");
  m.type = static_cast<MessageType>(type);
  m.from = NodeId(dec.ReadVarint64());
  m.to = NodeId(dec.ReadVarint64());
  m.term = Term(dec.ReadVarint64());
  m.log_term = Term(dec.ReadVarint64());
  m.index = Index(dec.ReadVarint64());
  m.commit = Index(dec.ReadVarint64());
  const uint8_t flags = dec.ReadU8();
  if (flags & ~(kFlagReject | kFlagTransfer)) dec.Fail("unknown flags");
  m.reject = (flags & kFlagReject) != 0;
  m.transfer = (flags & kFlagTransfer) != 0;
  m.reject_hint = Index(dec.ReadVarint64());
  m.hint_term = Term(dec.ReadVarint64());
  m.round = dec.ReadVarint64();
  m.context = std::string(dec.ReadBytes(limits::kFramePayloadBytesMax));
  const uint64_t count = dec.ReadVarint64();
  if (count > kMessageEntriesMax) dec.Fail("too many entries");
  for (uint64_t i = 0; i < count && !dec.HasError(); ++i) m.entries.push_back(ReadEntry(dec));
  const uint8_t has_snapshot = dec.ReadU8();
  if (has_snapshot > 1) dec.Fail("bad snapshot flag");
  if (has_snapshot == 1) {
    m.snapshot.meta.index = Index(dec.ReadVarint64());
    m.snapshot.meta.term = Term(dec.ReadVarint64());
    m.snapshot.meta.configuration.voters = ReadIds(dec);
    m.snapshot.meta.configuration.learners = ReadIds(dec);
    m.snapshot.data = std::string(dec.ReadBytes(limits::kFramePayloadBytesMax));
  }
  CAIRN_RETURN_IF_ERROR(dec.Finish());
  return m;
}

std::string EncodeConfigChange(const ConfigChange& change) {
  Encoder enc;
  enc.PutU8(static_cast<uint8_t>(change.type));
  enc.PutVarint64(change.node.value);
  // Only when present, so a change without one encodes exactly as before contexts existed.
  if (!change.context.empty()) enc.PutBytes(change.context);
  return enc.Take();
}

Result<ConfigChange> DecodeConfigChange(std::string_view bytes) {
  Decoder dec(bytes, "config change");
  ConfigChange cc;
  const uint8_t type = dec.ReadU8();
  if (type > static_cast<uint8_t>(ConfigChangeType::kRemove)) dec.Fail("unknown change type");
  cc.type = static_cast<ConfigChangeType>(type);
  cc.node = NodeId(dec.ReadVarint64());
  if (dec.Remaining() > 0) cc.context = std::string(dec.ReadBytes(kConfigChangeContextBytesMax));
  CAIRN_RETURN_IF_ERROR(dec.Finish());
  return cc;
}

}  // namespace cairn::raft
