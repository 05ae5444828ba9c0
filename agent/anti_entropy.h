// Anti-entropy: keeping the catalog's view of an agent's node equal to the agent's own.
//
// The agent is the authority on its node, services and checks. It compares what the catalog
// holds for its node (catalog::NodeRegistrations) with its own state and writes only the
// difference, as transactions of node/service/check set and delete operations. The leader's
// `serfHealth` check is left alone: gossip owns it (agent/agent_core.h).
//
// A full comparison runs at once after every local change and every SyncInterval, which grows
// with the cluster so that the servers see a bounded rate of syncs. The scaling follows
// Consul's anti-entropy (agent/ae/ae.go): one minute up to 128 members, then one minute more
// per doubling; a random stagger of up to half the interval keeps agents from syncing in step.
#pragma once

#include <vector>

#include "catalog/command.h"
#include "common/env.h"
#include "common/random.h"

namespace cairn::agent {

inline constexpr const char* kSerfHealthCheckId = "serfHealth";

struct LocalNodeState {
  catalog::Node node;
  std::vector<catalog::Service> services;
  std::vector<catalog::Check> checks;
};

// The operations that make `remote` equal to `local`, in an order that applies: the node,
// then service sets, then check sets, then check deletes, then service deletes. Empty when the
// two agree. Split into transactions of at most `ops_per_txn` operations each, in that order.
std::vector<catalog::TxnCommand> AntiEntropyOps(const LocalNodeState& local, const catalog::NodeRegistrations& remote,
                                                size_t ops_per_txn);

Duration AntiEntropyInterval(size_t members, Prng& prng);

}  // namespace cairn::agent
