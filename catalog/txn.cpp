// Transactions (Consul's /v1/txn): a list of KV and catalog operations applied all-or-nothing.
// Every op runs, even after one fails, so the caller gets every error at once; then any error
// rolls the whole transaction back.
#include "catalog/ops.h"
#include "catalog/state_store.h"
#include "catalog/tables.h"

namespace cairn::catalog {
namespace {

struct OpResult {
  Outcome outcome;
  std::vector<TxnResultItem> items;
};

OpResult Fail(std::string message) { return {Outcome::Fail(OutcomeCode::kRejected, std::move(message)), {}}; }

// KV writes report the entry without its value, as Consul does; reads carry the value.
KvEntry WithoutValue(KvEntry entry) {
  entry.value.clear();
  return entry;
}

bool IsKvRead(KvVerb verb) {
  return verb == KvVerb::kGet || verb == KvVerb::kGetTree || verb == KvVerb::kCheckIndex ||
         verb == KvVerb::kCheckSession || verb == KvVerb::kCheckNotExists;
}

OpResult KvRead(const Tables& tables, const KvOp& op) {
  if (Outcome key = ops::ValidateKvKey(op.key, op.verb == KvVerb::kGetTree); !key.Ok()) return {key, {}};
  const auto& kv = tables.kv;
  if (op.verb == KvVerb::kGetTree) {
    OpResult result;
    for (auto it = kv.lower_bound(op.key); it != kv.end() && it->first.starts_with(op.key); ++it) {
      result.items.emplace_back(it->second);
    }
    return result;
  }
  auto it = kv.find(op.key);
  const KvEntry* existing = it == kv.end() ? nullptr : &it->second;
  switch (op.verb) {
    case KvVerb::kGet:
      if (!existing) return Fail("key \"" + op.key + "\" doesn't exist");
      return {Outcome::Success(), {*existing}};
    case KvVerb::kCheckIndex:
      if (!existing) return Fail("key \"" + op.key + "\" doesn't exist");
      if (existing->modify_index != op.index) {
        return Fail("current modify index " + std::to_string(existing->modify_index.value) +
                    " != " + std::to_string(op.index.value));
      }
      return {};
    case KvVerb::kCheckSession:
      if (!existing) return Fail("key \"" + op.key + "\" doesn't exist");
      if (existing->session != op.session) {
        return Fail("lock is " + (existing->session.empty() ? "not held" : "held by session " + existing->session));
      }
      return {};
    case KvVerb::kCheckNotExists:
      if (existing) return Fail("key \"" + op.key + "\" exists");
      return {};
    default: CAIRN_UNREACHABLE("not a KV read verb");
  }
}

OpResult KvTxnOp(Mutation& m, const KvOp& op) {
  if (IsKvRead(op.verb)) return KvRead(m.View(), op);
  OpResult result{ops::KvWrite(m, op), {}};
  const bool yields =
      op.verb == KvVerb::kSet || op.verb == KvVerb::kCas || op.verb == KvVerb::kLock || op.verb == KvVerb::kUnlock;
  if (result.outcome.Ok() && yields) result.items.emplace_back(WithoutValue(m.View().kv.at(op.key)));
  return result;
}

// Catalog ops share a shape: set, then report the stored record; get; delete.
template <typename T, typename Verb, typename SetFn, typename DeleteFn, typename FindFn>
OpResult CatalogTxnOp(Mutation& m, Verb verb, const T& record, SetFn set, DeleteFn erase, FindFn find) {
  switch (verb) {
    case Verb::kSet: {
      OpResult result{set(m, record), {}};
      if (result.outcome.Ok()) result.items.emplace_back(*find(m));
      return result;
    }
    case Verb::kGet: {
      const T* found = find(m);
      if (!found) return {Outcome::Fail(OutcomeCode::kNotFound, "no such record"), {}};
      return {Outcome::Success(), {*found}};
    }
    case Verb::kDelete: return {erase(m), {}};
  }
  CAIRN_UNREACHABLE("unknown catalog txn verb");
}

template <typename Map, typename Key>
auto FindIn(const Map& map, const Key& key) -> const typename Map::mapped_type* {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

OpResult RunOp(Mutation& m, const TxnOp& op) {
  if (const auto* kv = std::get_if<KvOp>(&op)) return KvTxnOp(m, *kv);
  if (const auto* n = std::get_if<NodeTxnOp>(&op)) {
    return CatalogTxnOp(
        m, n->verb, n->node, [](Mutation& mm, const Node& node) { return ops::NodeSet(mm, node); },
        [n](Mutation& mm) { return ops::NodeDelete(mm, n->node.name); },
        [n](const Mutation& mm) { return FindIn(mm.View().nodes, n->node.name); });
  }
  if (const auto* s = std::get_if<ServiceTxnOp>(&op)) {
    const std::string id = s->service.id.empty() ? s->service.name : s->service.id;
    return CatalogTxnOp(
        m, s->verb, s->service, [](Mutation& mm, const Service& svc) { return ops::ServiceSet(mm, svc); },
        [s, id](Mutation& mm) { return ops::ServiceDelete(mm, s->service.node, id); },
        [s, id](const Mutation& mm) { return FindIn(mm.View().services, NodeScoped(s->service.node, id)); });
  }
  const auto& c = std::get<CheckTxnOp>(op);
  return CatalogTxnOp(
      m, c.verb, c.check, [](Mutation& mm, const Check& check) { return ops::CheckSet(mm, check); },
      [&c](Mutation& mm) { return ops::CheckDelete(mm, c.check.node, c.check.check_id); },
      [&c](const Mutation& mm) { return FindIn(mm.View().checks, NodeScoped(c.check.node, c.check.check_id)); });
}

template <typename T>
OpResult Found(const T* record) {
  if (!record) return {Outcome::Fail(OutcomeCode::kNotFound, "no such record"), {}};
  return {Outcome::Success(), {*record}};
}

// The read-only subset: KV read verbs and catalog gets.
OpResult ReadOp(const Tables& t, const TxnOp& op) {
  if (const auto* kv = std::get_if<KvOp>(&op)) {
    if (!IsKvRead(kv->verb)) return Fail("write operation in a read-only transaction");
    return KvRead(t, *kv);
  }
  if (const auto* n = std::get_if<NodeTxnOp>(&op)) {
    if (n->verb != NodeTxnOp::Verb::kGet) return Fail("write operation in a read-only transaction");
    return Found(FindIn(t.nodes, n->node.name));
  }
  if (const auto* s = std::get_if<ServiceTxnOp>(&op)) {
    if (s->verb != ServiceTxnOp::Verb::kGet) return Fail("write operation in a read-only transaction");
    const std::string id = s->service.id.empty() ? s->service.name : s->service.id;
    return Found(FindIn(t.services, NodeScoped(s->service.node, id)));
  }
  const auto& c = std::get<CheckTxnOp>(op);
  if (c.verb != CheckTxnOp::Verb::kGet) return Fail("write operation in a read-only transaction");
  return Found(FindIn(t.checks, NodeScoped(c.check.node, c.check.check_id)));
}

}  // namespace

Result<TxnResult> StateStore::TxnRead(const std::vector<TxnOp>& ops) const {
  if (ops.size() > limits::kTxnOpsMax) {
    return Status::InvalidArgument("transaction has " + std::to_string(ops.size()) +
                                   " operations, more than kTxnOpsMax (" + std::to_string(limits::kTxnOpsMax) + ")");
  }
  TxnResult result;
  for (size_t i = 0; i < ops.size(); ++i) {
    OpResult op = ReadOp(*tables_, ops[i]);
    if (!op.outcome.Ok()) {
      result.errors.push_back({i, op.outcome.message});
      continue;
    }
    for (TxnResultItem& item : op.items) result.results.push_back(std::move(item));
  }
  if (!result.errors.empty()) result.results.clear();
  return result;
}

Outcome ops::Txn(Mutation& m, const std::vector<TxnOp>& ops, TxnResult& result) {
  if (ops.size() > limits::kTxnOpsMax) {
    result.errors.push_back({0, "transaction has " + std::to_string(ops.size()) +
                                    " operations, more than kTxnOpsMax (" + std::to_string(limits::kTxnOpsMax) + ")"});
    return Outcome::Fail(OutcomeCode::kRejected, "transaction rolled back");
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    OpResult op = RunOp(m, ops[i]);
    if (!op.outcome.Ok()) {
      result.errors.push_back({i, op.outcome.message});
      continue;
    }
    for (TxnResultItem& item : op.items) result.results.push_back(std::move(item));
  }
  if (result.errors.empty()) return Outcome::Success();
  result.results.clear();
  return Outcome::Fail(OutcomeCode::kRejected, "transaction rolled back");
}

}  // namespace cairn::catalog
