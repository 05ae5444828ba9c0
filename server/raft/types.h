// The vocabulary of the Raft core: strong types for terms, indexes and node ids, log entries,
// the hard state that must survive a crash, and snapshot metadata.
//
// These types are shared by the pure core (server/raft/raft.h), the durable log store
// (server/raft/log_store.h) and the simulator harness; none of them touches the OS.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace cairn::raft {

// A strong wrapper around an unsigned 64-bit counter, so a Term can never be passed where an
// Index is expected.
template <typename Tag>
struct Counter {
  uint64_t value = 0;

  constexpr Counter() = default;
  constexpr explicit Counter(uint64_t v) : value(v) {}
  constexpr Counter Next() const { return Counter(value + 1); }
  constexpr Counter Prev() const { return Counter(value - 1); }
  friend constexpr auto operator<=>(Counter, Counter) = default;
};

struct TermTag {};
struct IndexTag {};
struct NodeIdTag {};
using Term = Counter<TermTag>;
using Index = Counter<IndexTag>;
using NodeId = Counter<NodeIdTag>;  // 0 means "none"

inline constexpr NodeId kNoNode{0};

enum class EntryType : uint8_t {
  kNormal = 0,        // a command for the state machine (empty data: the leader's no-op)
  kConfigChange = 1,  // data is an encoded ConfigChange
};

struct Entry {
  Term term;
  Index index;
  EntryType type = EntryType::kNormal;
  std::string data;
  friend bool operator==(const Entry&, const Entry&) = default;
};

// What must be on stable storage before a node sends any message that depends on it.
struct HardState {
  Term term;
  NodeId vote;  // kNoNode if none in `term`
  Index commit;
  friend bool operator==(const HardState&, const HardState&) = default;
};

// The cluster membership: voters decide elections and commits; learners (non-voters) only
// receive the log until they are promoted.
struct Configuration {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  friend bool operator==(const Configuration&, const Configuration&) = default;
};

// One membership change. Cairn changes membership one server at a time (docs/RAFT.md explains
// why not joint consensus); the change takes effect on every node once its entry is committed.
enum class ConfigChangeType : uint8_t {
  kAddLearner = 0,  // a new non-voter that receives the log
  kPromote = 1,     // an existing, caught-up learner becomes a voter
  kRemove = 2,      // a voter or learner leaves
};

struct ConfigChange {
  ConfigChangeType type = ConfigChangeType::kAddLearner;
  NodeId node;
  // Opaque to the core, replicated with the change: the host puts a new member's address
  // here, so every replica (and a restarted one, from its log) learns where to reach it.
  std::string context;
  friend bool operator==(const ConfigChange&, const ConfigChange&) = default;
};

// Where an entry sits in the log: a proposal is acknowledged once the entry at `index` with
// `term` is applied (a different term at that index means it was lost to a leader change).
struct LogPosition {
  Term term;
  Index index;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
};

struct SnapshotMeta {
  Index index;  // last log index the snapshot covers
  Term term;    // term of that entry
  Configuration configuration;
  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

// A snapshot as the host hands it over: the metadata plus the state machine's opaque image.
struct Snapshot {
  SnapshotMeta meta;
  std::string data;
  bool Empty() const { return meta.index == Index(0); }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// True if `id` is a voter of `config`.
inline bool IsVoter(const Configuration& config, NodeId id) {
  for (NodeId v : config.voters) {
    if (v == id) return true;
  }
  return false;
}
inline bool IsLearner(const Configuration& config, NodeId id) {
  for (NodeId v : config.learners) {
    if (v == id) return true;
  }
  return false;
}

}  // namespace cairn::raft
