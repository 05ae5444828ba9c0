#include "agent/anti_entropy.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/assert.h"

namespace cairn::agent {

using namespace std::chrono_literals;

namespace {

constexpr Duration kSyncIntervalBase = 60s;
constexpr size_t kScaleThreshold = 128;

using catalog::CheckTxnOp;
using catalog::NodeTxnOp;
using catalog::ServiceTxnOp;
using catalog::TxnOp;

// The store fills in a check's service name; the agent's own copy may not carry it.
bool SameCheck(const catalog::Check& local, catalog::Check remote) {
  remote.service_name = local.service_name;
  return local.SameAs(remote);
}

// The set operations for `mine` records that `theirs` lacks or holds differently, or the
// delete operations for `theirs` records that `mine` lacks (and `Keep` does not protect).
template <typename Op, typename Record, typename Key, typename Same, typename Keep>
std::vector<TxnOp> DiffOps(const std::vector<Record>& mine, const std::vector<Record>& theirs, typename Op::Verb verb,
                           Key key, Same same, Keep keep) {
  std::map<std::string, const Record*> by_key;
  for (const Record& record : (verb == Op::Verb::kSet ? theirs : mine)) by_key.emplace(key(record), &record);
  std::vector<TxnOp> ops;
  if (verb == Op::Verb::kSet) {
    for (const Record& record : mine) {
      auto found = by_key.find(key(record));
      if (found == by_key.end() || !same(record, *found->second)) ops.push_back(Op{verb, record});
    }
  } else {
    for (const Record& record : theirs) {
      if (!by_key.contains(key(record)) && !keep(record)) ops.push_back(Op{verb, record});
    }
  }
  return ops;
}

std::vector<TxnOp> ServiceOps(const LocalNodeState& local, const catalog::NodeRegistrations& remote,
                              ServiceTxnOp::Verb verb) {
  return DiffOps<ServiceTxnOp>(
      local.services, remote.services, verb, [](const catalog::Service& s) { return s.id; },
      [](const catalog::Service& a, const catalog::Service& b) { return a.SameAs(b); },
      [](const catalog::Service&) { return false; });
}

std::vector<TxnOp> CheckOps(const LocalNodeState& local, const catalog::NodeRegistrations& remote,
                            CheckTxnOp::Verb verb) {
  return DiffOps<CheckTxnOp>(
      local.checks, remote.checks, verb, [](const catalog::Check& c) { return c.check_id; }, SameCheck,
      [](const catalog::Check& c) { return c.check_id == kSerfHealthCheckId; });
}

}  // namespace

std::vector<catalog::TxnCommand> AntiEntropyOps(const LocalNodeState& local, const catalog::NodeRegistrations& remote,
                                                size_t ops_per_txn) {
  CAIRN_ASSERT(ops_per_txn > 0, "a transaction holds at least one operation");
  std::vector<TxnOp> ops;
  if (!remote.node || !local.node.SameAs(*remote.node)) ops.push_back(NodeTxnOp{NodeTxnOp::Verb::kSet, local.node});
  auto append = [&ops](std::vector<TxnOp> more) { ops.insert(ops.end(), more.begin(), more.end()); };
  append(ServiceOps(local, remote, ServiceTxnOp::Verb::kSet));
  append(CheckOps(local, remote, CheckTxnOp::Verb::kSet));
  append(CheckOps(local, remote, CheckTxnOp::Verb::kDelete));
  append(ServiceOps(local, remote, ServiceTxnOp::Verb::kDelete));
  std::vector<catalog::TxnCommand> txns;
  for (size_t i = 0; i < ops.size(); i += ops_per_txn) {
    const auto end = ops.begin() + static_cast<std::ptrdiff_t>(std::min(ops.size(), i + ops_per_txn));
    txns.push_back(catalog::TxnCommand{std::vector<TxnOp>(ops.begin() + static_cast<std::ptrdiff_t>(i), end)});
  }
  return txns;
}

Duration AntiEntropyInterval(size_t members, Prng& prng) {
  double scale = 1;
  if (members > kScaleThreshold) {
    scale = std::ceil(std::log2(static_cast<double>(members)) - std::log2(static_cast<double>(kScaleThreshold))) + 1;
  }
  const Duration interval = std::chrono::duration_cast<Duration>(kSyncIntervalBase * scale);
  return interval + std::chrono::duration_cast<Duration>(interval * (prng.NextDouble() / 2));
}

}  // namespace cairn::agent
