// The catalog's data model: nodes, services, checks, KV entries and sessions as Consul defines
// them, the Raft index every change carries, and the deterministic outcome of a command.
//
// Everything here is plain data. The store (catalog/state_store.h) owns the rules.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/assert.h"

namespace cairn::catalog {

// The Raft log index of the committed command that made a change. The catalog sits below
// server/, so it carries its own strong type; the FSM converts at the boundary.
struct RaftIndex {
  uint64_t value = 0;

  constexpr RaftIndex() = default;
  constexpr explicit RaftIndex(uint64_t v) : value(v) {}
  friend constexpr auto operator<=>(RaftIndex, RaftIndex) = default;
};
inline std::ostream& operator<<(std::ostream& os, RaftIndex index) { return os << "RaftIndex(" << index.value << ")"; }

using StringMap = std::map<std::string, std::string>;

struct Node {
  std::string name;
  std::string id;  // optional UUID
  std::string address;
  std::string datacenter;
  StringMap tagged_addresses;
  StringMap meta;
  RaftIndex create_index;
  RaftIndex modify_index;

  // Equal apart from the indexes: re-registering an identical node changes nothing.
  bool SameAs(const Node& other) const;
};

struct Weights {
  int32_t passing = 1;
  int32_t warning = 1;
  friend bool operator==(const Weights&, const Weights&) = default;
};

struct Service {
  std::string node;
  std::string id;
  std::string name;
  std::vector<std::string> tags;
  std::string address;
  uint16_t port = 0;
  StringMap meta;
  Weights weights;
  bool enable_tag_override = false;
  RaftIndex create_index;
  RaftIndex modify_index;

  bool SameAs(const Service& other) const;
};

enum class HealthStatus : uint8_t { kPassing = 0, kWarning = 1, kCritical = 2 };
std::string_view HealthStatusName(HealthStatus status);
std::optional<HealthStatus> ParseHealthStatus(std::string_view name);

struct Check {
  std::string node;
  std::string check_id;
  std::string name;
  HealthStatus status = HealthStatus::kCritical;  // Consul's default for a new check
  std::string notes;
  std::string output;
  std::string service_id;    // empty: a node-level check
  std::string service_name;  // filled in by the store from the service
  RaftIndex create_index;
  RaftIndex modify_index;

  bool SameAs(const Check& other) const;
};

struct KvEntry {
  std::string key;
  std::string value;
  uint64_t flags = 0;
  RaftIndex create_index;
  RaftIndex modify_index;
  uint64_t lock_index = 0;  // how many times the key has been newly acquired
  std::string session;      // the lock holder, empty when unlocked
};

enum class SessionBehavior : uint8_t { kRelease = 0, kDelete = 1 };

struct Session {
  std::string id;
  std::string name;
  std::string node;
  std::vector<std::string> checks;    // check ids on `node`; the session dies when one goes critical
  int64_t lock_delay_millis = 15000;  // Consul's default
  SessionBehavior behavior = SessionBehavior::kRelease;
  int64_t ttl_millis = 0;  // 0: no TTL. The leader enforces TTLs; the store only records them.
  RaftIndex create_index;
  RaftIndex modify_index;
};

// Everything a catalog registration carries, applied all-or-nothing (Consul's
// /v1/catalog/register): the node, optionally one service on it, and checks.
struct Registration {
  Node node;
  std::optional<Service> service;
  std::vector<Check> checks;
};

// The deterministic result of applying one command. Rejections (a failed CAS, a lock held by
// someone else, an unknown session, a bad argument) are outcomes, not errors: every replica
// reaches the same one, and the Raft index is consumed either way.
enum class OutcomeCode : uint8_t {
  kOk = 0,
  kRejected,         // a CAS index or lock condition did not hold (Consul answers `false`)
  kInvalidSession,   // the session named does not exist
  kLockDelay,        // the key is inside the lock-delay window of an invalidated session
  kNotFound,         // the thing to change does not exist
  kInvalidArgument,  // malformed or out of a named limit
};
std::string_view OutcomeCodeName(OutcomeCode code);

struct Outcome {
  OutcomeCode code = OutcomeCode::kOk;
  std::string message;

  bool Ok() const { return code == OutcomeCode::kOk; }
  static Outcome Success() { return {}; }
  static Outcome Fail(OutcomeCode code, std::string message) { return {code, std::move(message)}; }
};

// A read's answer with the index a blocking query compares against X-Consul-Index.
template <typename T>
struct Indexed {
  T value;
  RaftIndex index;
};

}  // namespace cairn::catalog
