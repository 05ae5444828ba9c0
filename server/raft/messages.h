// The messages Raft nodes exchange, and what the host gets back from the core.
//
// A Message is a plain value: the core produces them in Ready::messages and consumes them in
// Raft::Step. How they travel (UDP, TCP, chunked for big snapshots) is the transport's business;
// server/raft/message_codec.h gives the wire encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/raft/types.h"

namespace cairn::raft {

enum class MessageType : uint8_t {
  kPreVote = 0,          // "would you vote for me at `term`?" (term is not bumped yet)
  kPreVoteResponse = 1,  // reject=false grants; term echoes the request's term when granted
  kVote = 2,             // index/log_term: candidate's last log position
  kVoteResponse = 3,
  kAppend = 4,          // index/log_term: position before `entries`; commit: leader's commit
  kAppendResponse = 5,  // ok: index = last matching index; reject: index = rejected prev index,
                        // reject_hint/hint_term = where the follower's log may match
  kHeartbeat = 6,       // commit: min(leader commit, follower match); context: ReadIndex round
  kHeartbeatResponse = 7,
  kSnapshot = 8,            // snapshot: the whole image (chunking is the transport's job)
  kTimeoutNow = 9,          // leadership transfer: campaign now, skipping pre-vote and the lease
  kReadIndex = 10,          // follower -> leader: context identifies the request
  kReadIndexResponse = 11,  // leader -> follower: index to wait for; reject if it cannot serve
};

std::string_view MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from;
  NodeId to;
  Term term;
  Term log_term;
  Index index;
  Index commit;
  bool reject = false;
  Index reject_hint;
  Term hint_term;
  // Set on kVote sent after kTimeoutNow: voters ignore their leader lease for it.
  bool transfer = false;
  // Heartbeat round number echoed by the follower; the leader uses it for lease reads.
  uint64_t round = 0;
  std::string context;
  std::vector<Entry> entries;
  Snapshot snapshot;  // kSnapshot only
  friend bool operator==(const Message&, const Message&) = default;
};

// A linearizable read point: once the host has applied through `index`, reads for `context`
// may be served from its state machine.
struct ReadState {
  Index index;
  std::string context;
  friend bool operator==(const ReadState&, const ReadState&) = default;
};

enum class Role : uint8_t { kFollower = 0, kPreCandidate, kCandidate, kLeader };
std::string_view RoleName(Role role);

// Volatile state the host may want to observe (who leads, our role); never persisted.
struct SoftState {
  NodeId leader;
  Role role = Role::kFollower;
  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// Approximate in-memory size of an entry, used for batching and flow control.
inline uint64_t EntryBytes(const Entry& e) { return e.data.size() + 24; }

}  // namespace cairn::raft
