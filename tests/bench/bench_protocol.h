// The bench client protocol: framed requests (common/framing.h) on one TCP connection, any
// number in flight, each answered once with the same request id (answers may come out of order).
//
//   request:  u8 op, varint request id, then
//     kPropose: bytes payload                     -> answered once applied at the leader
//     kStatus:  -                                 -> a Status record
//     kCheck:   varint count, count x bytes       -> varint present, varint missing
//   response: u8 op, varint request id, u8 code, then
//     kOk:        the op's answer (nothing for kPropose)
//     kNotLeader: bytes client address of the leader ("" if unknown)
//     kError:     bytes message (retry: the outcome is unknown)
#pragma once

#include <cstdint>
#include <string>

#include "common/codec.h"

namespace cairn::bench {

enum class Op : uint8_t { kPropose = 1, kStatus = 2, kCheck = 3 };
enum class Code : uint8_t { kOk = 0, kNotLeader = 1, kError = 2 };

inline constexpr size_t kCheckBatchMax = 4096;

struct NodeStatus {
  uint64_t id = 0;
  uint64_t leader = 0;
  uint64_t role = 0;  // raft::Role
  uint64_t term = 0;
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  uint64_t applied_commands = 0;
  uint64_t digest = 0;  // order-sensitive hash of every applied command
  uint64_t persists = 0;
  uint64_t persisted_entries = 0;
  uint64_t readies = 0;
};

inline void PutStatus(Encoder& e, const NodeStatus& s) {
  for (uint64_t v : {s.id, s.leader, s.role, s.term, s.commit, s.applied, s.last_index, s.snapshot_index,
                     s.applied_commands, s.digest, s.persists, s.persisted_entries, s.readies}) {
    e.PutVarint64(v);
  }
}

inline NodeStatus ReadStatus(Decoder& d) {
  NodeStatus s;
  for (uint64_t* v : {&s.id, &s.leader, &s.role, &s.term, &s.commit, &s.applied, &s.last_index, &s.snapshot_index,
                      &s.applied_commands, &s.digest, &s.persists, &s.persisted_entries, &s.readies}) {
    *v = d.ReadVarint64();
  }
  return s;
}

inline std::string StatusLine(const NodeStatus& s) {
  static const char* const kRoles[] = {"follower", "pre-candidate", "candidate", "leader"};
  return "id=" + std::to_string(s.id) + " role=" + (s.role < 4 ? kRoles[s.role] : "?") +
         " leader=" + std::to_string(s.leader) + " term=" + std::to_string(s.term) +
         " commit=" + std::to_string(s.commit) + " applied=" + std::to_string(s.applied) +
         " last=" + std::to_string(s.last_index) + " snapshot=" + std::to_string(s.snapshot_index) +
         " commands=" + std::to_string(s.applied_commands) + " digest=" + std::to_string(s.digest) +
         " persists=" + std::to_string(s.persists) + " persisted_entries=" + std::to_string(s.persisted_entries) +
         " readies=" + std::to_string(s.readies);
}

}  // namespace cairn::bench
