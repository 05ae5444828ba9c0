#include "agent/agent_core.h"

#include <filesystem>

#include "agent/version.h"
#include "catalog/catalog_limits.h"

namespace cairn::agent {

using namespace std::chrono_literals;

namespace {

constexpr Duration kHousekeepingInterval = 250ms;
constexpr Duration kStartupHousekeepingInterval = 10ms;
// Blocking calls to servers from the loop (a client agent's writes, anti-entropy reads, asking
// a cluster to let this server join): few, so a small pool.
constexpr size_t kForwardThreads = 2;
constexpr size_t kForwardQueueMax = 1024;
// After a failed anti-entropy pass: a retry after 1 s, doubling while passes keep failing.
constexpr Duration kSyncRetryFirst = 1s;
constexpr uint32_t kSyncRetryDoublingsMax = 5;

catalog::Check SerfHealth(const std::string& node, catalog::HealthStatus status) {
  catalog::Check check;
  check.node = node;
  check.check_id = kSerfHealthCheckId;
  check.name = "Serf Health Status";
  check.status = status;
  check.output =
      status == catalog::HealthStatus::kPassing ? "Agent alive and reachable" : "Agent not live or unreachable";
  return check;
}

// Outcome of a local write as a Status: a rejected command is the caller's error.
Status OutcomeStatus(const Result<catalog::CommandResult>& result) {
  if (!result.IsOk()) return result.GetStatus();
  const catalog::Outcome& outcome = result->outcome;
  switch (outcome.code) {
    case catalog::OutcomeCode::kOk: return OkStatus();
    case catalog::OutcomeCode::kNotFound: return Status::NotFound(outcome.message);
    default: return Status::InvalidArgument(outcome.message);
  }
}

}  // namespace

AgentCore::AgentCore(Env& env, Logger& logger, AgentConfig config)
    : env_(env),
      logger_(logger),
      config_(std::move(config)),
      client_(!config_.server && !config_.dev),
      prng_(env.RandomSeed()),
      servers_(prng_.Next64()),
      forwarder_(env, kForwardThreads, kForwardQueueMax) {}

AgentCore::~AgentCore() {
  if (housekeeping_timer_ != 0) env_.CancelTimer(housekeeping_timer_);
  if (sync_.timer != 0) env_.CancelTimer(sync_.timer);
  if (sync_.retry_timer != 0) env_.CancelTimer(sync_.retry_timer);
}

Result<std::unique_ptr<AgentCore>> AgentCore::Open(Env& env, Logger& logger, const AgentConfig& config,
                                                   std::string data_dir) {
  std::unique_ptr<AgentCore> core(new AgentCore(env, logger, config));
  core->data_dir_ = std::move(data_dir);
  CAIRN_RETURN_IF_ERROR(core->StartGossip());
  if (!core->client_) {
    std::error_code ec;
    std::filesystem::create_directories(core->data_dir_, ec);
    if (ec) return Status::IoError("cannot create " + core->data_dir_ + ": " + ec.message());
    CAIRN_RETURN_IF_ERROR(core->MaybeStartServer());
  }
  core->ScheduleHousekeeping();
  core->ScheduleSync();
  return core;
}

Status AgentCore::StartGossip() {
  gossip::GossipHostConfig gossip;
  gossip.swim.name = config_.node_name;
  gossip.swim.address = NetAddress{config_.bind_addr, config_.serf_lan_port};
  gossip.swim.meta.role = client_ ? "client" : "server";
  gossip.swim.meta.datacenter = config_.datacenter;
  if (!client_) gossip.swim.meta.rpc_address = NetAddress{config_.bind_addr, config_.server_port}.ToString();
  gossip.swim.meta.build = kVersion;
  // Where other agents reach this one's HTTP API: its client address, or the bind address when
  // HTTP listens on every interface.
  const std::string http_host = config_.client_addr == "0.0.0.0" ? config_.bind_addr : config_.client_addr;
  gossip.swim.meta.http_address = NetAddress{http_host, config_.http_port}.ToString();
  gossip.swim.seed = prng_.Next64();
  CAIRN_ASSIGN_OR_RETURN(gossip_,
                         gossip::GossipHost::Start(
                             env_, gossip, [this](const gossip::MemberEvent& e) { OnMemberEvent(e); }, &logger_));
  std::vector<NetAddress> seeds;
  for (const std::string& join : config_.retry_join) {
    std::string text = join.find(':') == std::string::npos ? join + ":8301" : join;
    CAIRN_ASSIGN_OR_RETURN(NetAddress seed, NetAddress::Parse(text));
    seeds.push_back(seed);
  }
  if (!seeds.empty()) CAIRN_RETURN_IF_ERROR(gossip_->Join(seeds));
  return OkStatus();
}

bool AgentCore::Ready() const {
  if (client_) return servers_.Size() > 0;
  return server_ != nullptr && server_->Leader() != raft::kNoNode;
}

bool AgentCore::Leading() const { return server_ != nullptr && server_->IsLeader(); }

bool AgentCore::SelfRegistered() const {
  if (client_) return sync_.done_once;
  return server_ != nullptr && server_->Store().GetNode(config_.node_name).value.has_value();
}

http::QueryMeta AgentCore::Meta() const {
  http::QueryMeta meta;
  meta.index = server_->Store().AppliedIndex().value;
  meta.known_leader = Ready();
  meta.last_contact_millis = server_->RaftStatus().last_contact_ms;
  return meta;
}

void AgentCore::Write(catalog::Command command, WriteFn done) {
  if (!Ready()) {
    done(Status::Unavailable(client_ ? "No known Cairn servers" : "No cluster leader"));
    return;
  }
  command.now_millis = env_.WallMillis();
  if (auto* create = std::get_if<catalog::SessionCreateCommand>(&command.body)) {
    if (create->session.id.empty()) create->session.id = RandomUuid(prng_);
  }
  if (client_) return WriteThroughServer(std::move(command), std::move(done));
  server_->WriteViaLeader(std::move(command), std::move(done));
}

void AgentCore::WriteThroughServer(catalog::Command command, WriteFn done) {
  const std::optional<std::string> server = servers_.Current();
  CAIRN_ASSERT(server.has_value(), "Ready() means a server is known");
  auto on_done = [this, server = *server, done = std::move(done)](Result<catalog::CommandResult> result) {
    // The server could not be reached, or answered that it cannot serve: use the next one.
    const StatusCode code = result.IsOk() ? StatusCode::kOk : result.GetStatus().Code();
    if (code == StatusCode::kUnavailable || code == StatusCode::kTimeout) servers_.Failed(server);
    done(std::move(result));
  };
  forwarder_.Forward(*server, std::move(command), std::move(on_done));
}

Result<catalog::Session> AgentCore::RenewSession(const std::string& id) {
  if (!Ready()) return Status::Unavailable("No cluster leader");
  if (!Leading()) return NotLeader();
  return server_->RenewSession(id);
}

// The error a follower answers with: kFailedPrecondition whose message is the leader's HTTP
// address, so that the backend forwards there (AgentBackend).
Status AgentCore::NotLeader() const {
  const std::string address = LeaderHttpAddress();
  if (address.empty()) return Status::Unavailable("No cluster leader");
  return Status::FailedPrecondition(address);
}

std::string AgentCore::LeaderHttpAddress() const {
  if (!Ready()) return "";
  const raft::NodeId leader = server_->Leader();
  for (const gossip::Member& member : gossip_->Core().Members()) {
    if (ServerIdForNode(member.name) == leader && member.state == gossip::MemberState::kAlive) {
      return member.meta.http_address;
    }
  }
  return "";
}

void AgentCore::Read(const http::QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                     const http::ReadFn& read, std::function<void()> woken,
                     std::function<void(Result<ReadPass>)> done) {
  if (server_ == nullptr || (options.consistency != http::Consistency::kStale && !Ready())) {
    done(Status::Unavailable("No cluster leader"));
    return;
  }
  // `done` is copied, not moved: a consistent read's barrier below still needs it when it fails.
  auto run = [this, options, topics, read, woken = std::move(woken), done]() mutable {
    ReadPass pass;
    pass.meta = Meta();
    const catalog::RaftIndex index = read(server_->Store());
    pass.meta.index = index.value;
    if (options.min_index == 0 || index.value > options.min_index || topics.empty()) {
      done(std::move(pass));
      return;
    }
    Result<std::optional<catalog::WatchId>> watch = server_->Store().Watch(topics, index, std::move(woken));
    if (!watch.IsOk()) {
      done(watch.GetStatus());
      return;
    }
    // nullopt: a topic already moved past what the read saw; the caller reads again at once.
    pass.watch = *watch;
    if (!pass.watch) pass.meta.index = 0;
    done(std::move(pass));
  };
  if (options.consistency != http::Consistency::kConsistent) {
    run();
    return;
  }
  server_->ReadBarrier([run = std::move(run), done](Status status) mutable {
    if (!status.IsOk()) {
      done(status);
      return;
    }
    run();
  });
}

void AgentCore::ReadTxn(const http::QueryOptions& options, const std::vector<catalog::TxnOp>& ops,
                        std::function<void(Result<std::pair<catalog::TxnResult, http::QueryMeta>>)> done) {
  if (server_ == nullptr || (options.consistency != http::Consistency::kStale && !Ready())) {
    done(Status::Unavailable("No cluster leader"));
    return;
  }
  auto run = [this, ops, done]() {
    Result<catalog::TxnResult> result = server_->TxnRead(ops);
    if (!result.IsOk()) {
      done(result.GetStatus());
      return;
    }
    done(std::make_pair(std::move(*result), Meta()));
  };
  if (options.consistency != http::Consistency::kConsistent) {
    run();
    return;
  }
  server_->ReadBarrier([run, done](Status status) {
    if (!status.IsOk()) {
      done(status);
      return;
    }
    run();
  });
}

void AgentCore::CancelWatch(catalog::WatchId id) {
  if (server_ != nullptr) server_->Store().CancelWatch(id);
}

// ---- the agent's own services and checks --------------------------------------------------

catalog::Node AgentCore::SelfNode() const {
  catalog::Node node;
  node.name = config_.node_name;
  node.id = config_.node_id;
  node.address = config_.bind_addr;
  node.datacenter = config_.datacenter;
  node.tagged_addresses = {{"lan", config_.bind_addr}, {"wan", config_.bind_addr}};
  return node;
}

catalog::Registration AgentCore::SelfRegistration(std::optional<catalog::Service> service,
                                                  std::vector<catalog::Check> checks) const {
  catalog::Registration registration;
  registration.node = SelfNode();
  registration.service = std::move(service);
  registration.checks = std::move(checks);
  return registration;
}

void AgentCore::WriteStatus(catalog::Command command, std::function<void(Status)> done) {
  Write(std::move(command),
        [done = std::move(done)](Result<catalog::CommandResult> result) { done(OutcomeStatus(result)); });
}

void AgentCore::RegisterLocalService(catalog::Service service, std::vector<http::LocalCheck> checks,
                                     std::function<void(Status)> done) {
  service.node = config_.node_name;
  if (service.id.empty()) service.id = service.name;
  std::vector<catalog::Check> catalog_checks;
  for (size_t i = 0; i < checks.size(); ++i) {
    catalog::Check& check = checks[i].check;
    check.node = config_.node_name;
    check.service_id = service.id;
    // Consul's names for a service's own checks: "service:<id>", numbered when several.
    if (check.check_id.empty()) {
      check.check_id = "service:" + service.id + (checks.size() > 1 ? ":" + std::to_string(i + 1) : "");
    }
    if (check.name.empty()) check.name = "Service '" + service.name + "' check";
    catalog_checks.push_back(check);
  }
  catalog::Registration registration = SelfRegistration(service, catalog_checks);
  // Local state first: an anti-entropy pass while the write is in flight must see the service
  // as the agent's own, not as a stranger to delete. A refused write takes it back.
  std::optional<LocalService> previous;
  if (auto it = services_.find(service.id); it != services_.end()) previous = it->second;
  services_[service.id] = LocalService{service};
  for (const http::LocalCheck& check : checks)
    checks_[check.check.check_id] = TrackedCheck{check, env_.Now() + check.ttl};
  WriteStatus(catalog::Command{0, catalog::RegisterCommand{std::move(registration)}},
              [this, service, checks = std::move(checks), previous, done = std::move(done)](Status status) {
                if (!status.IsOk()) {
                  for (const http::LocalCheck& check : checks) checks_.erase(check.check.check_id);
                  if (previous) {
                    services_[service.id] = *previous;
                  } else {
                    services_.erase(service.id);
                  }
                }
                RequestSync();
                done(status);
              });
}

void AgentCore::DeregisterLocalService(const std::string& service_id, std::function<void(Status)> done) {
  if (services_.find(service_id) == services_.end()) {
    done(Status::NotFound("Unknown service ID \"" + service_id +
                          "\". Ensure that the service ID is passed, not the service name."));
    return;
  }
  // Local state first (see RegisterLocalService): once the agent has dropped the service,
  // anti-entropy deletes it from the catalog even if this write fails.
  services_.erase(service_id);
  std::erase_if(checks_, [&](const auto& entry) { return entry.second.definition.check.service_id == service_id; });
  catalog::DeregisterCommand command{config_.node_name, service_id, ""};
  WriteStatus(catalog::Command{0, command}, [this, done = std::move(done)](Status status) {
    if (status.Code() == StatusCode::kNotFound) status = OkStatus();
    RequestSync();
    done(status);
  });
}

void AgentCore::RegisterLocalCheck(http::LocalCheck check, std::function<void(Status)> done) {
  check.check.node = config_.node_name;
  if (check.check.check_id.empty()) check.check.check_id = check.check.name;
  if (!check.check.service_id.empty() && services_.find(check.check.service_id) == services_.end()) {
    done(Status::NotFound("ServiceID \"" + check.check.service_id + "\" does not exist"));
    return;
  }
  catalog::Registration registration = SelfRegistration(std::nullopt, {check.check});
  std::optional<TrackedCheck> previous;
  if (auto it = checks_.find(check.check.check_id); it != checks_.end()) previous = it->second;
  checks_[check.check.check_id] = TrackedCheck{check, env_.Now() + check.ttl};
  WriteStatus(catalog::Command{0, catalog::RegisterCommand{std::move(registration)}},
              [this, id = check.check.check_id, previous, done = std::move(done)](Status status) {
                if (!status.IsOk()) {
                  if (previous) {
                    checks_[id] = *previous;
                  } else {
                    checks_.erase(id);
                  }
                }
                RequestSync();
                done(status);
              });
}

void AgentCore::DeregisterLocalCheck(const std::string& check_id, std::function<void(Status)> done) {
  if (checks_.find(check_id) == checks_.end()) {
    done(Status::NotFound("Unknown check ID \"" + check_id + "\""));
    return;
  }
  checks_.erase(check_id);
  catalog::DeregisterCommand command{config_.node_name, "", check_id};
  WriteStatus(catalog::Command{0, command}, [this, done = std::move(done)](Status status) {
    if (status.Code() == StatusCode::kNotFound) status = OkStatus();
    RequestSync();
    done(status);
  });
}

void AgentCore::UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output,
                                 std::function<void(Status)> done) {
  auto it = checks_.find(check_id);
  if (it == checks_.end()) {
    done(Status::NotFound("Unknown check ID \"" + check_id + "\""));
    return;
  }
  TrackedCheck& tracked = it->second;
  if (tracked.definition.ttl.count() > 0) tracked.ttl_deadline = env_.Now() + tracked.definition.ttl;
  tracked.definition.check.status = status;
  tracked.definition.check.output = std::move(output);
  catalog::Registration registration = SelfRegistration(std::nullopt, {tracked.definition.check});
  WriteStatus(catalog::Command{0, catalog::RegisterCommand{std::move(registration)}}, std::move(done));
}

std::vector<catalog::Service> AgentCore::LocalServices() const {
  std::vector<catalog::Service> out;
  for (const auto& [id, local] : services_) out.push_back(local.service);
  return out;
}

std::vector<http::LocalCheck> AgentCore::LocalChecks() const {
  std::vector<http::LocalCheck> out;
  for (const auto& [id, tracked] : checks_) out.push_back(tracked.definition);
  return out;
}

void AgentCore::ExpireTtlChecks() {
  const MonoTime now = env_.Now();
  for (auto& [id, tracked] : checks_) {
    http::LocalCheck& definition = tracked.definition;
    if (definition.ttl.count() == 0 || now < tracked.ttl_deadline) continue;
    if (definition.check.status == catalog::HealthStatus::kCritical) continue;
    definition.check.status = catalog::HealthStatus::kCritical;
    definition.check.output = "TTL expired";
    catalog::Registration registration = SelfRegistration(std::nullopt, {definition.check});
    WriteStatus(catalog::Command{0, catalog::RegisterCommand{std::move(registration)}}, [this, id](Status status) {
      if (!status.IsOk())
        logger_.Warn("could not mark an expired TTL check critical", {{"check", id}, {"error", status.ToString()}});
    });
  }
}

// ---- membership -----------------------------------------------------------------------------

void AgentCore::ScheduleHousekeeping() {
  // A server: fast until its node is in the catalog, so a new agent is usable at once. (A
  // client is usable at once: its requests go to a server.)
  const Duration interval = client_ || SelfRegistered() ? kHousekeepingInterval : kStartupHousekeepingInterval;
  housekeeping_timer_ = env_.StartTimer(interval, [this] {
    housekeeping_timer_ = 0;
    Housekeeping();
    ScheduleHousekeeping();
  });
}

void AgentCore::Housekeeping() {
  if (client_) {
    if (env_.Now() >= next_rebalance_) {
      servers_.Rebalance();
      next_rebalance_ =
          env_.Now() + ServerPool::RebalanceInterval(servers_.Size(), gossip_->Core().Members().size(), prng_);
    }
    if (Ready()) ExpireTtlChecks();
    return;
  }
  if (server_ == nullptr) {
    Status started = MaybeStartServer();
    if (!started.IsOk())
      logger_.WarnRateLimited("bootstrap", "cannot start the server", {{"error", started.ToString()}});
    return;
  }
  const bool leader = Leading();
  if (leader && !was_leader_) reconciled_.clear();  // a new leader checks every member again
  was_leader_ = leader;
  if (leader) {
    ReconcileMembers();
    ReconcileRaftServers();
  }
  if (Ready()) ExpireTtlChecks();
}

void AgentCore::OnMemberEvent(const gossip::MemberEvent& event) {
  logger_.Info("member event", {{"kind", gossip::EventKindName(event.kind)}, {"member", event.member.name}});
  if (event.member.meta.role == "server") OnServersChanged();
  if (Leading()) ReconcileMember(event.member);
}

void AgentCore::OnServersChanged() {
  if (!client_) return;
  const bool had_servers = servers_.Size() > 0;
  if (servers_.Update(gossip_->Core().Members(), config_.datacenter)) {
    logger_.Info("servers changed", {{"servers", static_cast<uint64_t>(servers_.Size())}});
  }
  // The first server known: put this agent's node, services and checks in the catalog now.
  if (!had_servers && servers_.Size() > 0) RequestSync();
}

void AgentCore::ReconcileMembers() {
  for (const gossip::Member& member : gossip_->Core().Members()) ReconcileMember(member);
}

void AgentCore::ReconcileMember(const gossip::Member& member) {
  auto seen = reconciled_.find(member.name);
  if (seen != reconciled_.end() && seen->second == member.state) return;
  reconciled_[member.name] = member.state;
  catalog::Command command;
  if (member.state == gossip::MemberState::kLeft || member.state == gossip::MemberState::kDead) {
    if (member.state == gossip::MemberState::kLeft) {
      command.body = catalog::DeregisterCommand{member.name, "", ""};
    } else {
      catalog::Registration registration;
      registration.node.name = member.name;
      registration.node.address = member.address.host;
      registration.node.datacenter = member.meta.datacenter;
      registration.checks.push_back(SerfHealth(member.name, catalog::HealthStatus::kCritical));
      command.body = catalog::RegisterCommand{std::move(registration)};
    }
  } else {
    catalog::Registration registration;
    // A client's anti-entropy owns its node's other fields (id, tagged addresses, meta): keep them.
    std::optional<catalog::Node> stored = server_->Store().GetNode(member.name).value;
    registration.node = member.name == config_.node_name ? SelfNode() : stored.value_or(catalog::Node{});
    registration.node.name = member.name;
    registration.node.address = member.address.host;
    registration.node.datacenter = member.meta.datacenter;
    registration.checks.push_back(SerfHealth(member.name, catalog::HealthStatus::kPassing));
    command.body = catalog::RegisterCommand{std::move(registration)};
  }
  Write(std::move(command), [this, name = member.name](Result<catalog::CommandResult> result) {
    Status status = OutcomeStatus(result);
    if (!status.IsOk()) {
      reconciled_.erase(name);  // try again at the next housekeeping pass
      logger_.WarnRateLimited("reconcile", "could not reconcile a member into the catalog",
                              {{"member", name}, {"error", status.ToString()}});
    }
  });
}

// ---- anti-entropy ---------------------------------------------------------------------------

LocalNodeState AgentCore::LocalState() const {
  LocalNodeState local;
  local.node = SelfNode();
  local.services = LocalServices();
  for (const auto& [id, tracked] : checks_) local.checks.push_back(tracked.definition.check);
  return local;
}

void AgentCore::ScheduleSync() {
  const Duration interval = AntiEntropyInterval(gossip_->Core().Members().size(), prng_);
  sync_.timer = env_.StartTimer(interval, [this] {
    sync_.timer = 0;
    RequestSync();
    ScheduleSync();
  });
}

void AgentCore::RequestSync() {
  if (sync_.running) {
    sync_.again = true;
    return;
  }
  StartSync();
}

// Reads what the catalog holds for this node (from a server, for a client; from the local
// store, for a server) and writes the difference.
void AgentCore::StartSync() {
  if (!Ready()) return;  // news of a server (or leader), or the timer, asks again
  sync_.running = true;
  sync_.again = false;
  if (!client_) {
    const catalog::StateStore& store = server_->Store();
    const std::string& node = config_.node_name;
    ApplySync(catalog::NodeRegistrations{store.GetNode(node).value, store.NodeServices(node).value,
                                         store.NodeChecks(node).value});
    return;
  }
  const std::string server = *servers_.Current();
  forwarder_.Run<catalog::NodeRegistrations>(
      [server, node = config_.node_name] { return FetchNodeRegistrations(server, node); },
      [this, server](Result<catalog::NodeRegistrations> remote) {
        if (!remote.IsOk()) servers_.Failed(server);
        ApplySync(std::move(remote));
      });
}

void AgentCore::ApplySync(Result<catalog::NodeRegistrations> remote) {
  if (!remote.IsOk()) return FinishSync(remote.GetStatus());
  // Compared with the local state of now, not of when the read started: a change made since
  // is either in `remote` already or still in flight, and is written again either way.
  WriteSyncTxns(AntiEntropyOps(LocalState(), *remote, catalog::limits::kTxnOpsMax), 0);
}

void AgentCore::WriteSyncTxns(std::vector<catalog::TxnCommand> txns, size_t next) {
  if (next == txns.size()) return FinishSync(OkStatus());
  const size_t ops = txns[next].ops.size();
  catalog::Command command{0, txns[next]};
  Write(std::move(command), [this, txns = std::move(txns), next, ops](Result<catalog::CommandResult> result) mutable {
    Status status = OutcomeStatus(result);
    if (!status.IsOk()) return FinishSync(status);
    sync_.ops_written += ops;
    WriteSyncTxns(std::move(txns), next + 1);
  });
}

void AgentCore::FinishSync(Status status) {
  sync_.running = false;
  if (status.IsOk()) {
    sync_.done_once = true;
    sync_.failures_in_row = 0;
    ++sync_.passes;
  } else {
    ++sync_.failures;
    logger_.WarnRateLimited("anti-entropy", "anti-entropy pass failed", {{"error", status.ToString()}});
    const uint32_t doublings = std::min(sync_.failures_in_row++, kSyncRetryDoublingsMax);
    if (sync_.retry_timer == 0) {
      sync_.retry_timer = env_.StartTimer(kSyncRetryFirst * (1u << doublings), [this] {
        sync_.retry_timer = 0;
        RequestSync();
      });
    }
  }
  if (sync_.again) RequestSync();
}

Status AgentCore::Join(const std::string& address) {
  std::string text = address.find(':') == std::string::npos ? address + ":8301" : address;
  CAIRN_ASSIGN_OR_RETURN(NetAddress seed, NetAddress::Parse(text));
  return gossip_->Join({seed});
}

Status AgentCore::Leave() {
  gossip_->Leave();
  return OkStatus();
}

Status AgentCore::ForceLeave(const std::string& node) { return gossip_->ForceLeave(node); }

std::string AgentCore::LeaderAddress() const {
  if (!Ready()) return "";
  const raft::NodeId leader = server_->Leader();
  for (const server::RaftServer& server : server_->Configuration()) {
    if (server.id == leader) return server.address.ToString();
  }
  return "";
}

http::RaftConfigurationView AgentCore::RaftConfiguration() const {
  http::RaftConfigurationView out;
  if (server_ == nullptr) return out;
  out.index = server_->ConfigurationIndex().value;
  for (const server::RaftServer& member : server_->Configuration()) {
    http::RaftServer server;
    server.id = std::to_string(member.id.value);
    server.address = member.address.ToString();
    server.voter = member.voter;
    for (const gossip::Member& gossip_member : gossip_->Core().Members()) {
      if (ServerIdForNode(gossip_member.name) == member.id) server.node = gossip_member.name;
    }
    server.leader = Ready() && server_->Leader() == member.id;
    out.servers.push_back(std::move(server));
  }
  return out;
}

void AgentCore::RemoveRaftPeer(const std::string& id, const std::string& address, std::function<void(Status)> done) {
  if (server_ == nullptr) return done(Status::Unavailable("No cluster leader"));
  std::optional<raft::NodeId> target;
  for (const server::RaftServer& member : server_->Configuration()) {
    if ((!id.empty() && std::to_string(member.id.value) == id) ||
        (!address.empty() && member.address.ToString() == address)) {
      target = member.id;
    }
  }
  if (!target) {
    return done(Status::NotFound("no Raft server with " + (id.empty() ? "address " + address : "id " + id)));
  }
  if (!Leading()) {
    Status not_leader = NotLeader();
    if (not_leader.Code() != StatusCode::kFailedPrecondition) return done(not_leader);
    return done(Status::FailedPrecondition(not_leader.Message() + "|" + std::to_string(target->value)));
  }
  server_->RemoveServer(*target, std::move(done));
}

std::vector<http::Member> AgentCore::Members() const {
  std::vector<http::Member> out;
  for (const gossip::Member& member : gossip_->Core().Members()) {
    http::Member m;
    m.name = member.name;
    m.address = member.address.host;
    m.port = member.address.port;
    // Consul's member tags; "vsn" is the protocol version its CLI shows.
    m.tags = {{"role", member.meta.role == "server" ? "consul" : "node"},
              {"dc", member.meta.datacenter},
              {"build", member.meta.build},
              {"vsn", "2"}};
    if (!member.meta.rpc_address.empty()) {
      Result<NetAddress> rpc = NetAddress::Parse(member.meta.rpc_address);
      if (rpc.IsOk()) m.tags["port"] = std::to_string(rpc->port);
    }
    switch (member.state) {
      case gossip::MemberState::kAlive:
      case gossip::MemberState::kSuspect: m.status = 1; break;
      case gossip::MemberState::kLeft: m.status = 3; break;
      case gossip::MemberState::kDead: m.status = 4; break;
    }
    out.push_back(std::move(m));
  }
  return out;
}

http::AgentInfo AgentCore::Self() const {
  http::AgentInfo info;
  info.node_name = config_.node_name;
  info.node_id = config_.node_id;
  info.datacenter = config_.datacenter;
  info.version = kVersion;
  info.server = config_.server || config_.dev;
  info.advertise_address = config_.bind_addr;
  info.http_port = config_.http_port;
  info.stats["agent"] = {{"services", std::to_string(services_.size())},
                         {"checks", std::to_string(checks_.size())},
                         {"server", info.server ? "true" : "false"}};
  info.stats["build"] = {{"version", kVersion}};
  info.stats["serf_lan"] = {{"members", std::to_string(gossip_->Core().Members().size())},
                            {"health_score", std::to_string(gossip_->Core().Awareness())}};
  info.stats["anti_entropy"] = {{"passes", std::to_string(sync_.passes)},
                                {"ops_written", std::to_string(sync_.ops_written)},
                                {"failures", std::to_string(sync_.failures)}};
  if (client_) {
    info.stats["consul"] = {{"known_servers", std::to_string(servers_.Size())},
                            {"server", servers_.Current().value_or("")}};
  }
  if (server_ != nullptr) {
    const server::RaftHostStatus raft = server_->RaftStatus();
    info.stats["raft"] = {{"state", Leading() ? "Leader" : "Follower"},
                          {"term", std::to_string(raft.term.value)},
                          {"commit_index", std::to_string(raft.commit.value)},
                          {"applied_index", std::to_string(raft.applied.value)},
                          {"last_log_index", std::to_string(raft.last_index.value)},
                          {"last_snapshot_index", std::to_string(raft.snapshot_index.value)},
                          {"last_contact", std::to_string(raft.last_contact_ms) + "ms"},
                          {"num_peers", std::to_string(server_->Configuration().size() - 1)}};
  }
  return info;
}

}  // namespace cairn::agent
