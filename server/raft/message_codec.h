// Wire encoding of Raft messages and of the config-change payload of log entries.
//
// Format (all integers LEB128 varints unless noted, strings length-prefixed):
//   u8 version (=1), u8 type, from, to, term, log_term, index, commit, u8 flags
//   (bit0 reject, bit1 transfer), reject_hint, hint_term, round, context,
//   entry count, entries (term, index, u8 type, data),
//   u8 has_snapshot [, index, term, voter count, voters, learner count, learners, data].
// Integrity (checksums) and chunking of large snapshots belong to the transport's framing
// (common/framing.h), not to this layer. Decoding rejects unknown versions and types, counts
// and sizes beyond the limits below, and trailing bytes, with a kCorruption status.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "server/raft/messages.h"

namespace cairn::raft {

inline constexpr uint8_t kMessageCodecVersion = 1;
inline constexpr uint64_t kMessageEntriesMax = 1 << 20;
inline constexpr uint64_t kConfigMembersMax = 1 << 12;
// A config change's context holds one member's address: a few dozen bytes.
inline constexpr uint64_t kConfigChangeContextBytesMax = 1 << 10;

std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view bytes);

std::string EncodeConfigChange(const ConfigChange& change);
Result<ConfigChange> DecodeConfigChange(std::string_view bytes);

}  // namespace cairn::raft
