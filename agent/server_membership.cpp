// AgentCore's server membership: how a server starts Raft, and how the leader keeps the Raft
// voters equal to the servers gossip knows.
//
// Starting. A server with a saved voter set (<data_dir>/peers) restarts from it. One without
// asks the servers gossip shows for their Raft voters (GET /v1/status/peers). If a cluster
// already runs and this server is not among its voters (a server added later, or a replacement),
// it starts in join mode: no configuration of its own, an empty log, and it waits for the
// leader to add it. Otherwise it bootstraps with the others once gossip shows exactly
// bootstrap_expect servers (agent/server_bootstrap.h). A server that joined keeps a marker
// (<data_dir>/joined) so that a restart before the leader added it still never bootstraps.
//
// Leading. Every housekeeping pass the leader compares gossip with the Raft configuration, one
// change at a time: a server alive in gossip for kServerStabilization that is not a voter is
// added (as a learner, promoted once caught up: RaftHost::AddServer); a server that left
// gracefully (or was force-left) is removed. Removal never breaks quorum: RaftHost refuses a
// removal that would leave fewer reachable voters than a quorum. Failed servers stay voters
// until they come back, leave, or an operator removes them (`cairn operator raft remove-peer`),
// since a failure may be transient.
#include <filesystem>
#include <fstream>

#include "agent/agent_core.h"

namespace cairn::agent {

using namespace std::chrono_literals;

namespace {

// Consul autopilot's ServerStabilizationTime: a server must be healthy this long before it
// becomes a voter, so a flapping server does not churn the configuration.
constexpr Duration kServerStabilization = 10s;
constexpr Duration kClusterProbeInterval = 1s;

}  // namespace

// Starts Raft from the saved voter set, or bootstraps or joins one (see the file comment).
Status AgentCore::MaybeStartServer() {
  const std::string peers_path = data_dir_ + "/peers";
  const std::string joined_path = data_dir_ + "/joined";
  CAIRN_ASSIGN_OR_RETURN(std::optional<ServerPeers> saved, LoadServerPeers(peers_path));
  if (saved) return StartServerFromPeers(*saved, std::filesystem::exists(joined_path));
  const NetAddress self_raft{config_.bind_addr, config_.server_port};
  if (config_.dev || config_.bootstrap_expect == 1) {
    saved = ServerPeers{{ServerIdForNode(config_.node_name), self_raft}};
  } else {
    if (!probe_.cluster_without_me) {
      ProbeForCluster();
      return OkStatus();  // housekeeping asks again once the probe has answered
    }
    const bool join = *probe_.cluster_without_me;
    probe_.cluster_without_me.reset();
    if (join) {
      // The address book: this server and every server gossip shows; the leader's log brings
      // the real configuration.
      saved = ServerPeers{{ServerIdForNode(config_.node_name), self_raft}};
      for (const gossip::Member& member : gossip_->Core().Members()) {
        if (member.meta.role != "server" || member.meta.datacenter != config_.datacenter) continue;
        Result<NetAddress> address = NetAddress::Parse(member.meta.rpc_address);
        if (address.IsOk()) saved->emplace(ServerIdForNode(member.name), *address);
      }
      std::ofstream(joined_path) << "joined a running cluster\n";
      CAIRN_RETURN_IF_ERROR(SaveServerPeers(peers_path, *saved));
      logger_.Info("joining a running server cluster", {{"known_servers", static_cast<uint64_t>(saved->size())}});
      return StartServerFromPeers(*saved, true);
    }
    saved = ExpectedServers(gossip_->Core().Members(), config_.datacenter, config_.bootstrap_expect);
    if (!saved) return OkStatus();  // not yet: housekeeping asks again
  }
  CAIRN_RETURN_IF_ERROR(SaveServerPeers(peers_path, *saved));
  logger_.Info("bootstrapping the server cluster", {{"servers", static_cast<uint64_t>(saved->size())}});
  return StartServerFromPeers(*saved, false);
}

Status AgentCore::StartServerFromPeers(const ServerPeers& peers, bool join) {
  server::CatalogServerOptions options;
  options.data_dir = data_dir_;
  options.raft.raft.id = ServerIdForNode(config_.node_name);
  options.raft.peers = peers;
  options.raft.join = join;
  if (options.raft.peers.find(options.raft.raft.id) == options.raft.peers.end()) {
    return Status::FailedPrecondition("this node (" + config_.node_name + ") is not among the servers saved in " +
                                      data_dir_ + "/peers");
  }
  CAIRN_ASSIGN_OR_RETURN(server_, OpenServerRole(env_, logger_, std::move(options)));
  // A single server elects itself at once instead of waiting out an election timeout.
  if (!join && peers.size() == 1) CAIRN_RETURN_IF_ERROR(server_->Campaign());
  return OkStatus();
}

// Asks every other server gossip shows for its voters, off the loop. The answer is "a cluster
// runs without me" if any server reports voters and this server is not one of them; servers
// that cannot be reached (not serving yet) count as reporting none.
void AgentCore::ProbeForCluster() {
  if (probe_.running || env_.Now() < probe_.next) return;
  std::vector<std::string> servers;
  for (const gossip::Member& member : gossip_->Core().Members()) {
    if (member.name == config_.node_name || member.state != gossip::MemberState::kAlive) continue;
    if (member.meta.role == "server" && member.meta.datacenter == config_.datacenter) {
      servers.push_back(member.meta.http_address);
    }
  }
  probe_.running = true;
  probe_.next = env_.Now() + kClusterProbeInterval;
  const std::string self_raft = NetAddress{config_.bind_addr, config_.server_port}.ToString();
  forwarder_.Run<bool>(
      [servers, self_raft]() -> Result<bool> {
        for (const std::string& server : servers) {
          Result<std::vector<std::string>> voters = FetchRaftPeers(server);
          if (!voters.IsOk() || voters->empty()) continue;
          return std::find(voters->begin(), voters->end(), self_raft) == voters->end();
        }
        return false;
      },
      [this](Result<bool> without_me) {
        probe_.running = false;
        if (without_me.IsOk()) probe_.cluster_without_me = *without_me;
      });
}

void AgentCore::ReconcileRaftServers() {
  if (raft_change_running_) return;
  std::map<raft::NodeId, bool> voters;  // id -> voter (false: learner)
  for (const server::RaftServer& server : server_->Configuration()) voters[server.id] = server.voter;
  const MonoTime now = env_.Now();
  for (const gossip::Member& member : gossip_->Core().Members()) {
    if (member.meta.role != "server" || member.meta.datacenter != config_.datacenter) continue;
    const auto known = voters.find(ServerIdForNode(member.name));
    const bool stable =
        member.state == gossip::MemberState::kAlive && now - member.state_changed >= kServerStabilization;
    if (known == voters.end() && stable) return ChangeRaftServer(true, member);
    if (known != voters.end() && member.state == gossip::MemberState::kLeft) return ChangeRaftServer(false, member);
  }
}

void AgentCore::ChangeRaftServer(bool add, const gossip::Member& member) {
  const raft::NodeId id = ServerIdForNode(member.name);
  auto done = [this, add, name = member.name](Status status) {
    raft_change_running_ = false;
    if (status.IsOk()) {
      logger_.Info(add ? "server added to the Raft voters" : "server removed from the Raft configuration",
                   {{"server", name}});
    } else {
      logger_.WarnRateLimited("raft-membership", add ? "cannot add a server" : "cannot remove a server",
                              {{"server", name}, {"error", status.ToString()}});
    }
  };
  if (!add) {
    raft_change_running_ = true;
    server_->RemoveServer(id, std::move(done));
    return;
  }
  Result<NetAddress> address = NetAddress::Parse(member.meta.rpc_address);
  if (!address.IsOk()) return;
  raft_change_running_ = true;
  logger_.Info("adding a server to the Raft voters", {{"server", member.name}});
  server_->AddServer(id, *address, std::move(done));
}

}  // namespace cairn::agent
