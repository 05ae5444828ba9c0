// AgentCore: everything a running agent owns, on its Env loop thread.
//
// It composes the server (a ServerRole: Raft + catalog, agent/server_role.h), gossip membership
// (GossipHost), and the agent's own services and checks. The HTTP API reaches it through
// AgentBackend, which moves each call onto the loop thread (agent/loop_call.h).
//
// A server agent runs a ServerRole; a client agent (neither -server nor -dev) runs none, and
// sends its writes and anti-entropy reads to one of the servers gossip told it about
// (ServerPool, with failover and rebalancing). Its HTTP API relays every non-agent request
// there too (http/relay.h).
//
// Duties on the loop:
//   - the agent's own node, services and checks are put in the catalog, TTL checks turn
//     critical when not updated in time, and anti-entropy (agent/anti_entropy.h) repairs any
//     difference the catalog has from them;
//   - while this server leads, gossip membership is reconciled into the catalog: every alive
//     member's node carries a passing `serfHealth` check, a failed member's turns critical,
//     and a member that left or was reaped is deregistered.
//
// Threads: every method runs on the loop thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "agent/anti_entropy.h"
#include "agent/forward.h"
#include "agent/gossip/gossip_host.h"
#include "agent/server_bootstrap.h"
#include "agent/server_pool.h"
#include "agent/server_role.h"
#include "catalog/command.h"
#include "common/env.h"
#include "common/log.h"
#include "common/random.h"
#include "http/backend.h"

namespace cairn::agent {

// One pass of a (possibly blocking) read, as the loop answers it.
struct ReadPass {
  http::QueryMeta meta;
  // Set when the read's index was not above the caller's min_index and a watch now waits for
  // a change: the caller waits for `woken`, or cancels `watch` at its deadline.
  std::optional<catalog::WatchId> watch;
};

class AgentCore {
 public:
  using WriteFn = std::function<void(Result<catalog::CommandResult>)>;

  // Opens the server state and gossip; `data_dir` is where the server keeps its state.
  static Result<std::unique_ptr<AgentCore>> Open(Env& env, Logger& logger, const AgentConfig& config,
                                                 std::string data_dir);
  ~AgentCore();

  // A server: true once its server runs and a leader is known. A client: once it knows a
  // server.
  bool Ready() const;
  bool Leading() const;
  // A server: true once the leader has put this agent's node (with its serfHealth check) in
  // the catalog. A client: once an anti-entropy pass has completed.
  bool SelfRegistered() const;
  bool IsClient() const { return client_; }
  // The servers a client agent uses; safe from any thread (server_pool.h).
  ServerPool& Servers() { return servers_; }

  // Replicates `command`. A client agent sends it to its server; a follower hands it to the
  // leader over the Raft peer link (CatalogServer::WriteViaLeader) and answers once it has
  // applied it too, so a read here right after sees it.
  void Write(catalog::Command command, WriteFn done);
  Result<catalog::Session> RenewSession(const std::string& id);
  // Runs `read` with `options`; if it is a blocking read whose index is not above
  // options.min_index, registers a watch that calls `woken` on the next relevant change.
  void Read(const http::QueryOptions& options, const std::vector<catalog::WatchTopic>& topics, const http::ReadFn& read,
            std::function<void()> woken, std::function<void(Result<ReadPass>)> done);
  void ReadTxn(const http::QueryOptions& options, const std::vector<catalog::TxnOp>& ops,
               std::function<void(Result<std::pair<catalog::TxnResult, http::QueryMeta>>)> done);
  void CancelWatch(catalog::WatchId id);

  void RegisterLocalService(catalog::Service service, std::vector<http::LocalCheck> checks,
                            std::function<void(Status)> done);
  void DeregisterLocalService(const std::string& service_id, std::function<void(Status)> done);
  void RegisterLocalCheck(http::LocalCheck check, std::function<void(Status)> done);
  void DeregisterLocalCheck(const std::string& check_id, std::function<void(Status)> done);
  void UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output,
                        std::function<void(Status)> done);
  std::vector<catalog::Service> LocalServices() const;
  std::vector<http::LocalCheck> LocalChecks() const;

  // Removes a server from the Raft configuration, named by its Raft id (decimal, as
  // RaftConfiguration reports it) or its server address. On a follower: kFailedPrecondition
  // with the leader's HTTP address and the Raft id as "address|id", for the caller to forward.
  void RemoveRaftPeer(const std::string& id, const std::string& address, std::function<void(Status)> done);
  Status Join(const std::string& address);
  Status Leave();
  Status ForceLeave(const std::string& node);
  std::string LeaderAddress() const;
  http::RaftConfigurationView RaftConfiguration() const;
  std::vector<http::Member> Members() const;
  http::AgentInfo Self() const;
  const AgentConfig& Config() const { return config_; }

 private:
  struct LocalService {
    catalog::Service service;
  };
  struct TrackedCheck {
    http::LocalCheck definition;
    MonoTime ttl_deadline;  // for TTL checks
  };

  AgentCore(Env& env, Logger& logger, AgentConfig config);
  Status StartGossip();
  Status MaybeStartServer();
  Status NotLeader() const;
  std::string LeaderHttpAddress() const;
  http::QueryMeta Meta() const;
  void ScheduleHousekeeping();
  void Housekeeping();
  void OnMemberEvent(const gossip::MemberEvent& event);
  // While leading: makes the catalog agree with gossip membership.
  void ReconcileMembers();
  void ReconcileMember(const gossip::Member& member);
  catalog::Node SelfNode() const;
  catalog::Registration SelfRegistration(std::optional<catalog::Service> service,
                                         std::vector<catalog::Check> checks) const;
  void WriteStatus(catalog::Command command, std::function<void(Status)> done);
  // A client's write, sent to its current server, which passes it on to the leader.
  void WriteThroughServer(catalog::Command command, WriteFn done);
  void ExpireTtlChecks();
  void OnServersChanged();

  // Server membership (server_membership.cpp): starting Raft (bootstrap, restart or join),
  // asking other servers whether a cluster already runs without this one, and the leader
  // turning servers seen in gossip into voters (and removing those that left).
  Status StartServerFromPeers(const ServerPeers& peers, bool join);
  void ProbeForCluster();
  void ReconcileRaftServers();
  void ChangeRaftServer(bool add, const gossip::Member& member);

  // Anti-entropy: one pass at a time; a request during a pass runs another after it.
  void RequestSync();
  void ScheduleSync();
  void StartSync();
  void ApplySync(Result<catalog::NodeRegistrations> remote);
  void WriteSyncTxns(std::vector<catalog::TxnCommand> txns, size_t next);
  void FinishSync(Status status);
  LocalNodeState LocalState() const;

  Env& env_;
  Logger& logger_;
  AgentConfig config_;
  const bool client_;
  Prng prng_;
  ServerPool servers_;
  MonoTime next_rebalance_{};
  struct SyncState {
    bool running = false;
    bool again = false;
    bool done_once = false;
    TimerId timer = 0;        // the periodic pass
    TimerId retry_timer = 0;  // a pass after a failed one
    uint32_t failures_in_row = 0;
    uint64_t passes = 0;
    uint64_t ops_written = 0;
    uint64_t failures = 0;
  } sync_;
  std::string data_dir_;
  // Null until the server cluster is bootstrapped (or recovered from the data dir).
  std::unique_ptr<ServerRole> server_;
  std::unique_ptr<gossip::GossipHost> gossip_;
  AsyncForwarder forwarder_;
  std::map<std::string, LocalService> services_;
  std::map<std::string, TrackedCheck> checks_;
  bool was_leader_ = false;
  // A new server's question to the others: does a cluster run without me?
  struct ClusterProbe {
    bool running = false;
    std::optional<bool> cluster_without_me;  // the last answer, used once
    MonoTime next{};
  } probe_;
  bool raft_change_running_ = false;
  TimerId housekeeping_timer_ = 0;
  // Members whose catalog entry is known to be up to date (by gossip state), so the leader
  // writes only what changed.
  std::map<std::string, gossip::MemberState> reconciled_;
};

}  // namespace cairn::agent
