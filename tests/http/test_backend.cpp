#include "tests/http/test_backend.h"

#include <chrono>
#include <cstdio>

#include "catalog/command.h"

namespace cairn::http::testing {

using catalog::RaftIndex;

TestBackend::TestBackend(const std::string& directory) {
  auto store = catalog::StateStore::Open(directory);
  CAIRN_ASSERT(store.IsOk(), store.GetStatus().ToString());
  store_ = std::move(store).Value();
  servers_ = {{"id-1", kNodeName, "127.0.0.1:8300", true, true}, {"id-2", "node2", "127.0.0.2:8300", false, true}};
  catalog::Registration own;
  own.node = OwnNode();
  auto result = Write({0, catalog::RegisterCommand{own}});
  CAIRN_ASSERT(result.IsOk() && result->outcome.Ok(), "registering the test backend's own node");
}

TestBackend::~TestBackend() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  changed_.notify_all();
}

catalog::Node TestBackend::OwnNode() const {
  catalog::Node node;
  node.name = kNodeName;
  node.address = "127.0.0.1";
  node.datacenter = "dc1";
  return node;
}

Result<catalog::CommandResult> TestBackend::ApplyLocked(catalog::Command command) {
  if (!leader_known_) return Status::Unavailable("no leader");
  command.now_millis = 1'000'000;
  if (auto* create = std::get_if<catalog::SessionCreateCommand>(&command.body)) {
    char id[40];
    std::snprintf(id, sizeof(id), "adf4238a-882b-9ddc-4a9d-%012llu", static_cast<unsigned long long>(next_session_++));
    create->session.id = id;
  }
  ++writes_;
  // Watch callbacks run inside ApplyCommand, under mu_, and wake waiting queries.
  return catalog::ApplyCommand(*store_, RaftIndex(next_index_++), command);
}

Result<catalog::CommandResult> TestBackend::Write(catalog::Command command) {
  std::lock_guard lock(mu_);
  return ApplyLocked(std::move(command));
}

void TestBackend::WriteAsync(catalog::Command command, WriteDoneFn done) {
  Result<catalog::CommandResult> result = [&] {
    std::lock_guard lock(mu_);
    ++async_writes_;
    return ApplyLocked(std::move(command));
  }();
  done(std::move(result));
}

Result<catalog::Session> TestBackend::RenewSession(const std::string& id) {
  std::lock_guard lock(mu_);
  if (!leader_known_) return Status::Unavailable("no leader");
  return store_->SessionRenew(id);
}

Result<QueryMeta> TestBackend::Query(const QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                                     const ReadFn& read) {
  std::unique_lock lock(mu_);
  if (!leader_known_ && options.consistency != Consistency::kStale) return Status::Unavailable("no leader");
  const auto deadline = std::chrono::steady_clock::now() + options.max_wait;
  while (true) {
    const RaftIndex index = read(*store_);
    const bool timed_out = std::chrono::steady_clock::now() >= deadline;
    if (options.min_index == 0 || index.value > options.min_index || timed_out || stopping_) {
      return QueryMeta{index.value, leader_known_, 0};
    }
    auto fired = std::make_shared<bool>(false);
    auto watch = store_->Watch(topics, index, [this, fired] {
      *fired = true;
      changed_.notify_all();
    });
    if (!watch.IsOk()) return watch.GetStatus();
    if (!*watch) continue;  // a topic moved between the read and the watch: read again
    changed_.wait_until(lock, deadline, [&] { return *fired || stopping_; });
    if (*fired) {
      ++query_wakeups_;
    } else {
      store_->CancelWatch(**watch);
    }
  }
}

Result<std::pair<catalog::TxnResult, QueryMeta>> TestBackend::ReadTxn(const QueryOptions& options,
                                                                      const std::vector<catalog::TxnOp>& ops) {
  std::lock_guard lock(mu_);
  if (!leader_known_ && options.consistency != Consistency::kStale) return Status::Unavailable("no leader");
  auto result = store_->TxnRead(ops);
  if (!result.IsOk()) return result.GetStatus();
  return std::pair{std::move(result).Value(), QueryMeta{store_->AppliedIndex().value, leader_known_, 0}};
}

Status TestBackend::RegisterOnOwnNode(std::optional<catalog::Service> service, std::vector<catalog::Check> checks) {
  catalog::Registration registration;
  registration.node = OwnNode();
  registration.service = std::move(service);
  if (registration.service) registration.service->node = kNodeName;
  for (catalog::Check& check : checks) check.node = kNodeName;
  registration.checks = std::move(checks);
  CAIRN_ASSIGN_OR_RETURN(catalog::CommandResult result, ApplyLocked({0, catalog::RegisterCommand{registration}}));
  if (!result.outcome.Ok()) return Status::InvalidArgument(result.outcome.message);
  return OkStatus();
}

Status TestBackend::RegisterLocalService(catalog::Service service, std::vector<LocalCheck> checks) {
  std::lock_guard lock(mu_);
  std::vector<catalog::Check> catalog_checks;
  for (const LocalCheck& check : checks) catalog_checks.push_back(check.check);
  CAIRN_RETURN_IF_ERROR(RegisterOnOwnNode(service, catalog_checks));
  service.node = kNodeName;
  services_[service.id] = service;
  for (LocalCheck& check : checks) {
    check.check.node = kNodeName;
    check.check.service_name = service.name;
    checks_[check.check.check_id] = std::move(check);
  }
  return OkStatus();
}

Status TestBackend::DeregisterLocalService(const std::string& service_id) {
  std::lock_guard lock(mu_);
  if (!services_.contains(service_id)) return Status::NotFound("Unknown service ID \"" + service_id + "\"");
  CAIRN_ASSIGN_OR_RETURN(catalog::CommandResult result,
                         ApplyLocked({0, catalog::DeregisterCommand{kNodeName, service_id, ""}}));
  (void)result;
  services_.erase(service_id);
  std::erase_if(checks_, [&](const auto& entry) { return entry.second.check.service_id == service_id; });
  return OkStatus();
}

Status TestBackend::RegisterLocalCheck(LocalCheck check) {
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(RegisterOnOwnNode(std::nullopt, {check.check}));
  check.check.node = kNodeName;
  checks_[check.check.check_id] = std::move(check);
  return OkStatus();
}

Status TestBackend::DeregisterLocalCheck(const std::string& check_id) {
  std::lock_guard lock(mu_);
  if (!checks_.contains(check_id)) return Status::NotFound("Unknown check ID \"" + check_id + "\"");
  CAIRN_ASSIGN_OR_RETURN(catalog::CommandResult result,
                         ApplyLocked({0, catalog::DeregisterCommand{kNodeName, "", check_id}}));
  (void)result;
  checks_.erase(check_id);
  return OkStatus();
}

Status TestBackend::UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output) {
  std::lock_guard lock(mu_);
  auto it = checks_.find(check_id);
  if (it == checks_.end()) return Status::NotFound("Unknown check ID \"" + check_id + "\"");
  if (it->second.ttl.count() == 0) return Status::InvalidArgument("Check " + check_id + " is not a TTL check");
  catalog::Check updated = it->second.check;
  updated.status = status;
  updated.output = std::move(output);
  CAIRN_RETURN_IF_ERROR(RegisterOnOwnNode(std::nullopt, {updated}));
  it->second.check = updated;
  return OkStatus();
}

std::vector<catalog::Service> TestBackend::LocalServices() {
  std::lock_guard lock(mu_);
  std::vector<catalog::Service> out;
  for (const auto& [id, service] : services_) out.push_back(service);
  return out;
}

std::vector<LocalCheck> TestBackend::LocalChecks() {
  std::lock_guard lock(mu_);
  std::vector<LocalCheck> out;
  for (const auto& [id, check] : checks_) out.push_back(check);
  return out;
}

Status TestBackend::Join(const std::string& address) {
  std::lock_guard lock(mu_);
  if (address.find(':') == std::string::npos && address.find('.') == std::string::npos) {
    return Status::InvalidArgument("cannot join \"" + address + "\": not an address");
  }
  membership_calls_.push_back("join " + address);
  return OkStatus();
}

Status TestBackend::Leave() {
  std::lock_guard lock(mu_);
  membership_calls_.push_back("leave");
  return OkStatus();
}

Status TestBackend::ForceLeave(const std::string& node) {
  std::lock_guard lock(mu_);
  membership_calls_.push_back("force-leave " + node);
  return OkStatus();
}

Status TestBackend::RemoveRaftPeer(const std::string& id, const std::string& address) {
  std::lock_guard lock(mu_);
  const size_t removed = std::erase_if(servers_, [&](const RaftServer& s) {
    return (!id.empty() && s.id == id) || (!address.empty() && s.address == address);
  });
  if (removed == 0) return Status::NotFound("no Raft server with id \"" + id + "\" or address \"" + address + "\"");
  return OkStatus();
}

std::string TestBackend::LeaderAddress() {
  std::lock_guard lock(mu_);
  return leader_known_ ? "127.0.0.1:8300" : "";
}

RaftConfigurationView TestBackend::RaftConfiguration() {
  std::lock_guard lock(mu_);
  return {servers_, kRaftConfigurationIndex};
}

std::vector<Member> TestBackend::Members() {
  return {{kNodeName, "127.0.0.1", 8301, {{"role", "consul"}, {"dc", "dc1"}}, 1},
          {"node2", "127.0.0.2", 8301, {{"dc", "dc1"}}, 4}};
}

AgentInfo TestBackend::Self() {
  return {kNodeName, "11111111-2222-3333-4444-555555555555", "dc1", "0.1.0", true, "127.0.0.1",
          8500,      {{"agent", {{"services", "0"}}}}};
}

std::vector<std::string> TestBackend::Datacenters() { return {"dc1"}; }

void TestBackend::SetLeaderKnown(bool known) {
  std::lock_guard lock(mu_);
  leader_known_ = known;
}

uint64_t TestBackend::AppliedIndex() {
  std::lock_guard lock(mu_);
  return store_->AppliedIndex().value;
}

size_t TestBackend::Writes() {
  std::lock_guard lock(mu_);
  return writes_;
}

size_t TestBackend::AsyncWrites() {
  std::lock_guard lock(mu_);
  return async_writes_;
}

size_t TestBackend::QueryWakeups() {
  std::lock_guard lock(mu_);
  return query_wakeups_;
}

std::vector<std::string> TestBackend::MembershipCalls() {
  std::lock_guard lock(mu_);
  return membership_calls_;
}

void TestBackend::Inspect(const std::function<void(const catalog::StateStore&)>& fn) {
  std::lock_guard lock(mu_);
  fn(*store_);
}

}  // namespace cairn::http::testing
