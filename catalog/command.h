// Catalog commands: the replicated writes, as plain data with a strict binary encoding.
//
// A command is what the HTTP layer asks for, what the server proposes to Raft (encoded), and
// what every replica's FSM applies to its StateStore (decoded). `now_millis` is the wall clock
// of the server that proposed the command, stamped once before proposing, so that every
// replica applies the same time (lock-delay, session invalidation) and reaches the same state.
//
// Encoding: one version byte, the command kind, then the fields with common/codec.h. Decoding
// is strict: an unknown version or kind, a truncated field, trailing bytes or a value past a
// catalog limit is kCorruption naming what was wrong (a replica must never apply half-read
// input).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "catalog/state_store.h"
#include "catalog/types.h"
#include "common/status.h"

namespace cairn::catalog {

// One KV verb that writes (kSet, kCas, kLock, kUnlock, kDelete, kDeleteCas, kDeleteTree).
struct KvCommand {
  KvOp op;
};
// `session.id` is chosen (a random UUID) by the server that proposes the command.
struct SessionCreateCommand {
  Session session;
};
struct SessionDestroyCommand {
  std::string id;
};
struct RegisterCommand {
  Registration registration;
};
// Removes the node (with everything on it) when service_id and check_id are both empty,
// otherwise the one service (with its checks) or the one check.
struct DeregisterCommand {
  std::string node;
  std::string service_id;
  std::string check_id;
};
struct TxnCommand {
  std::vector<TxnOp> ops;
};
// The leader's periodic clean-up of tombstones and ended lock-delays (StateStore::ReapTombstones).
struct ReapCommand {
  RaftIndex up_to;
};

using CommandBody = std::variant<KvCommand, SessionCreateCommand, SessionDestroyCommand, RegisterCommand,
                                 DeregisterCommand, TxnCommand, ReapCommand>;

struct Command {
  int64_t now_millis = 0;
  CommandBody body;
};

// What applying a command produced, returned to whoever proposed it.
struct CommandResult {
  RaftIndex index;               // the Raft index that applied the command
  Outcome outcome;               // kOk, or the deterministic rejection
  std::optional<TxnResult> txn;  // for TxnCommand
  std::string session_id;        // for SessionCreateCommand
};

std::string EncodeCommand(const Command& command);
Result<Command> DecodeCommand(std::string_view bytes);

std::string EncodeCommandResult(const CommandResult& result);
Result<CommandResult> DecodeCommandResult(std::string_view bytes);

// Everything registered on one node: what a client agent's anti-entropy compares with its own
// services and checks (agent/anti_entropy.h). Served by GET /v1/internal/node-state/<node>.
struct NodeRegistrations {
  std::optional<Node> node;  // nullopt: the catalog does not know the node
  std::vector<Service> services;
  std::vector<Check> checks;
};
std::string EncodeNodeRegistrations(const NodeRegistrations& registrations);
Result<NodeRegistrations> DecodeNodeRegistrations(std::string_view bytes);

// Applies `command` to `store` at `index` (deterministic: same store, same command, same result).
// A Status error is the store's own failure (I/O), never a rejection.
Result<CommandResult> ApplyCommand(StateStore& store, RaftIndex index, const Command& command);

}  // namespace cairn::catalog
