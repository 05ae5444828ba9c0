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

struct SnapshotMeta {
  Index index;  // last log index the snapshot covers
  Term term;    // term of that entry
  Configuration configuration;
  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

}  // namespace cairn::raft
