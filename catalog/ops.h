// The rules of each command, as functions over a Mutation. The state store runs one of them
// per command; a transaction runs several against the same Mutation. Each returns the
// deterministic Outcome and leaves rollback to the caller. Internal to catalog/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/mutation.h"
#include "catalog/state_store.h"

namespace cairn::catalog::ops {

// Structural checks on a KV key (UTF-8, no leading '/', within limits::kKvKeyBytesMax); an
// empty key is allowed only as a prefix.
Outcome ValidateKvKey(std::string_view key, bool is_prefix);

// The writing KV verbs (set, cas, lock, unlock, delete, delete-cas, delete-tree).
Outcome KvWrite(Mutation& m, const KvOp& op);
// Also drops lock-delays that ended before m.NowMillis().
Outcome ReapTombstones(Mutation& m, RaftIndex up_to);

Outcome SessionCreate(Mutation& m, Session session);
// Releases or deletes the session's locks per its behavior, arms lock-delay, removes it.
// kNotFound if there is no such session.
Outcome SessionInvalidate(Mutation& m, const std::string& id);

Outcome NodeSet(Mutation& m, Node node);
Outcome ServiceSet(Mutation& m, Service service);
Outcome CheckSet(Mutation& m, Check check);
// Deleting something absent succeeds without a change, as in Consul.
Outcome NodeDelete(Mutation& m, const std::string& node);
Outcome ServiceDelete(Mutation& m, const std::string& node, const std::string& service_id);
Outcome CheckDelete(Mutation& m, const std::string& node, const std::string& check_id);

// A transaction (Consul's /v1/txn): every op runs, so `result` collects every error; any error
// fails the whole (the caller rolls back) and leaves `result.results` empty.
Outcome Txn(Mutation& m, const std::vector<TxnOp>& ops, TxnResult& result);

}  // namespace cairn::catalog::ops
