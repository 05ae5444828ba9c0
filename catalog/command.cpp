// Applying a decoded catalog command to the store (catalog/command.h). The wire format lives in
// command_codec.cpp.
#include "catalog/command.h"

#include <type_traits>

namespace cairn::catalog {
namespace {

CommandResult WithOutcome(RaftIndex index, Outcome outcome) {
  CommandResult result;
  result.index = index;
  result.outcome = std::move(outcome);
  return result;
}

Result<Outcome> ApplyDeregister(StateStore& store, RaftIndex index, int64_t now, const DeregisterCommand& c) {
  // As Consul: a service id wins over a check id.
  if (!c.service_id.empty()) return store.DeregisterService(index, now, c.node, c.service_id);
  if (!c.check_id.empty()) return store.DeregisterCheck(index, now, c.node, c.check_id);
  return store.DeregisterNode(index, now, c.node);
}

Result<CommandResult> ApplyTxn(StateStore& store, RaftIndex index, int64_t now, const TxnCommand& c) {
  CAIRN_ASSIGN_OR_RETURN(TxnResult txn, store.Txn(index, now, c.ops));
  CommandResult result = WithOutcome(
      index, txn.Committed() ? Outcome::Success() : Outcome::Fail(OutcomeCode::kRejected, "transaction rolled back"));
  result.txn = std::move(txn);
  return result;
}

Result<CommandResult> ApplySessionCreate(StateStore& store, RaftIndex index, const SessionCreateCommand& c) {
  CAIRN_ASSIGN_OR_RETURN(Outcome outcome, store.SessionCreate(index, c.session));
  CommandResult result = WithOutcome(index, std::move(outcome));
  if (result.outcome.Ok()) result.session_id = c.session.id;
  return result;
}

// The single-outcome commands: each maps to one store call.
Result<Outcome> ApplySimple(StateStore& store, RaftIndex index, int64_t now, const CommandBody& body) {
  if (const auto* kv = std::get_if<KvCommand>(&body)) return store.ApplyKv(index, now, kv->op);
  if (const auto* destroy = std::get_if<SessionDestroyCommand>(&body)) {
    return store.SessionDestroy(index, now, destroy->id);
  }
  if (const auto* reg = std::get_if<RegisterCommand>(&body)) return store.Register(index, now, reg->registration);
  if (const auto* dereg = std::get_if<DeregisterCommand>(&body)) return ApplyDeregister(store, index, now, *dereg);
  const auto& reap = std::get<ReapCommand>(body);
  return store.ReapTombstones(index, now, reap.up_to);
}

}  // namespace

Result<CommandResult> ApplyCommand(StateStore& store, RaftIndex index, const Command& command) {
  if (const auto* txn = std::get_if<TxnCommand>(&command.body)) {
    return ApplyTxn(store, index, command.now_millis, *txn);
  }
  if (const auto* create = std::get_if<SessionCreateCommand>(&command.body)) {
    return ApplySessionCreate(store, index, *create);
  }
  CAIRN_ASSIGN_OR_RETURN(Outcome outcome, ApplySimple(store, index, command.now_millis, command.body));
  return WithOutcome(index, std::move(outcome));
}

}  // namespace cairn::catalog
