#include "agent/agent_backend.h"

#include <condition_variable>
#include <mutex>

#include "agent/forward.h"
#include "agent/loop_call.h"

namespace cairn::agent {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// How long a worker waits for the loop: a write may wait for an election and a commit.
constexpr std::chrono::milliseconds kWriteTimeout = 30s;
constexpr std::chrono::milliseconds kCallTimeout = 10s;

}  // namespace

// Set by a store watch on the loop thread (or by Close), waited on by the HTTP worker.
class AgentBackend::WakeSignal {
 public:
  void Fire() {
    std::lock_guard<std::mutex> lock(mu_);
    fired_ = true;
    cv_.notify_all();
  }
  // True if fired before `deadline`; resets for the next pass.
  bool WaitUntil(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool fired = cv_.wait_until(lock, deadline, [&] { return fired_; });
    fired_ = false;
    return fired;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool fired_ = false;
};

void AgentBackend::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (const auto& wake : waiting_) wake->Fire();
}

std::shared_ptr<AgentBackend::WakeSignal> AgentBackend::OpenWait() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return nullptr;
  auto wake = std::make_shared<WakeSignal>();
  waiting_.insert(wake);
  return wake;
}

void AgentBackend::CloseWait(const std::shared_ptr<WakeSignal>& wake) {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_.erase(wake);
}

template <typename T>
T AgentBackend::Get(std::function<T(AgentCore&)> fn) {
  Result<T> result = CallOnLoop<T>(
      env_, kCallTimeout, [this, fn = std::move(fn)](std::function<void(Result<T>)> done) { done(fn(core_)); });
  return result.IsOk() ? std::move(*result) : T{};
}

Status AgentBackend::Do(std::function<void(AgentCore&, std::function<void(Status)>)> fn) {
  Result<bool> result = CallOnLoop<bool>(env_, kWriteTimeout, [this, fn = std::move(fn)](auto done) {
    fn(core_, [done](Status status) {
      if (status.IsOk()) {
        done(true);
      } else {
        done(status);
      }
    });
  });
  return result.GetStatus();
}

Result<catalog::CommandResult> AgentBackend::Write(catalog::Command command) {
  return CallOnLoop<catalog::CommandResult>(
      env_, kWriteTimeout,
      [this, command = std::move(command)](auto done) mutable { core_.Write(std::move(command), std::move(done)); });
}

void AgentBackend::WriteAsync(catalog::Command command, WriteDoneFn done) {
  if (!WritesWithoutBlocking()) return http::Backend::WriteAsync(std::move(command), std::move(done));
  Status posted = env_.Post(
      [this, command = std::move(command), done]() mutable { core_.Write(std::move(command), std::move(done)); });
  if (!posted.IsOk()) done(Status::Unavailable("the agent is shutting down"));
}

Result<std::string> AgentBackend::RelayServer() {
  std::optional<std::string> server = core_.Servers().Current();
  if (!server) return Status::Unavailable("No known Cairn servers");
  return *server;
}

void AgentBackend::RelayFailed(const std::string& server) { core_.Servers().Failed(server); }

Result<catalog::Session> AgentBackend::RenewSession(const std::string& id) {
  Result<catalog::Session> renewed =
      CallOnLoop<catalog::Session>(env_, kCallTimeout, [this, id](auto done) { done(core_.RenewSession(id)); });
  if (renewed.IsOk() || renewed.GetStatus().Code() != StatusCode::kFailedPrecondition) return renewed;
  // Another server leads (its HTTP address is the message) and keeps the TTL timers.
  CAIRN_RETURN_IF_ERROR(ForwardRenew(renewed.GetStatus().Message(), id));
  // The answer is the session as this server sees it once it has caught up with the leader.
  std::optional<catalog::Session> session;
  http::QueryOptions consistent;
  consistent.consistency = http::Consistency::kConsistent;
  CAIRN_RETURN_IF_ERROR(Query(consistent, {}, [&](const catalog::StateStore& store) {
                          auto info = store.SessionInfo(id);
                          session = info.value;
                          return info.index;
                        }).GetStatus());
  if (!session) return Status::NotFound("Session id '" + id + "' not found");
  return *session;
}

Result<http::QueryMeta> AgentBackend::Query(const http::QueryOptions& options,
                                            const std::vector<catalog::WatchTopic>& topics, const http::ReadFn& read) {
  std::shared_ptr<WakeSignal> wake = OpenWait();
  if (wake == nullptr) return Status::Unavailable("the agent is shutting down");
  Result<http::QueryMeta> answer = BlockingQuery(options, topics, read, wake);
  CloseWait(wake);
  return answer;
}

// Passes of QueryOnce while the answer is not newer than options.min_index, each waiting for
// its watch to fire, until the deadline; the last read is the answer. (The HTTP API waits
// without a thread instead; this serves callers that block, such as an embedding
// application through Agent::Api().)
Result<http::QueryMeta> AgentBackend::BlockingQuery(const http::QueryOptions& options,
                                                    const std::vector<catalog::WatchTopic>& topics,
                                                    const http::ReadFn& read, const std::shared_ptr<WakeSignal>& wake) {
  const Clock::time_point deadline = Clock::now() + options.max_wait;
  http::QueryOptions pass_options = options;
  for (;;) {
    if (Clock::now() >= deadline) pass_options.min_index = 0;  // out of time: answer with what is there
    Result<QueryPass> pass = QueryOnce(pass_options, topics, read, [wake] { wake->Fire(); });
    if (!pass.IsOk()) return pass.GetStatus();
    if (!pass->watch) return pass->meta;
    if (!wake->WaitUntil(deadline)) CancelQueryWatch(*pass->watch);
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Unavailable("the agent is shutting down");
  }
}

Result<http::Backend::QueryPass> AgentBackend::QueryOnce(const http::QueryOptions& options,
                                                         const std::vector<catalog::WatchTopic>& topics,
                                                         const http::ReadFn& read, std::function<void()> wake) {
  for (;;) {
    // By value: if the loop does not answer in time, this function returns while the posted
    // call may still run. (`read` fills the caller's variables; a loop stalled that long is
    // already a broken agent.)
    Result<ReadPass> pass = CallOnLoop<ReadPass>(env_, kWriteTimeout, [this, options, topics, read, wake](auto done) {
      core_.Read(options, topics, read, wake, std::move(done));
    });
    if (!pass.IsOk()) return pass.GetStatus();
    if (pass->watch) return QueryPass{pass->meta, *pass->watch};
    if (pass->meta.index != 0 || options.min_index == 0) return QueryPass{pass->meta, std::nullopt};
    // The state moved while the watch was being registered: read again at once.
  }
}

void AgentBackend::CancelQueryWatch(uint64_t watch) {
  (void)env_.Post([this, watch] { core_.CancelWatch(catalog::WatchId(watch)); });
}

Result<std::pair<catalog::TxnResult, http::QueryMeta>> AgentBackend::ReadTxn(const http::QueryOptions& options,
                                                                             const std::vector<catalog::TxnOp>& ops) {
  using Answer = std::pair<catalog::TxnResult, http::QueryMeta>;
  return CallOnLoop<Answer>(env_, kWriteTimeout,
                            [this, options, ops](auto done) { core_.ReadTxn(options, ops, done); });
}

Status AgentBackend::RegisterLocalService(catalog::Service service, std::vector<http::LocalCheck> checks) {
  return Do([service = std::move(service), checks = std::move(checks)](AgentCore& core, auto done) {
    core.RegisterLocalService(service, checks, std::move(done));
  });
}

Status AgentBackend::DeregisterLocalService(const std::string& service_id) {
  return Do([service_id](AgentCore& core, auto done) { core.DeregisterLocalService(service_id, std::move(done)); });
}

Status AgentBackend::RegisterLocalCheck(http::LocalCheck check) {
  return Do(
      [check = std::move(check)](AgentCore& core, auto done) { core.RegisterLocalCheck(check, std::move(done)); });
}

Status AgentBackend::DeregisterLocalCheck(const std::string& check_id) {
  return Do([check_id](AgentCore& core, auto done) { core.DeregisterLocalCheck(check_id, std::move(done)); });
}

Status AgentBackend::UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output) {
  return Do([check_id, status, output = std::move(output)](AgentCore& core, auto done) {
    core.UpdateLocalCheck(check_id, status, output, std::move(done));
  });
}

std::vector<catalog::Service> AgentBackend::LocalServices() {
  return Get<std::vector<catalog::Service>>([](AgentCore& core) { return core.LocalServices(); });
}

std::vector<http::LocalCheck> AgentBackend::LocalChecks() {
  return Get<std::vector<http::LocalCheck>>([](AgentCore& core) { return core.LocalChecks(); });
}

Status AgentBackend::Join(const std::string& address) {
  return Do([address](AgentCore& core, auto done) { done(core.Join(address)); });
}

Status AgentBackend::Leave() {
  Status left = Do([](AgentCore& core, auto done) { done(core.Leave()); });
  if (left.IsOk() && on_leave_) on_leave_();
  return left;
}

Status AgentBackend::ForceLeave(const std::string& node) {
  return Do([node](AgentCore& core, auto done) { done(core.ForceLeave(node)); });
}

Status AgentBackend::RemoveRaftPeer(const std::string& id, const std::string& address) {
  Status status = Do([id, address](AgentCore& core, auto done) { core.RemoveRaftPeer(id, address, std::move(done)); });
  if (status.Code() != StatusCode::kFailedPrecondition || status.Message().find('|') == std::string::npos) {
    return status;
  }
  // Another server leads: the message is "<leader HTTP address>|<raft id>".
  const std::string& message = status.Message();
  const size_t bar = message.rfind('|');
  return ForwardRemovePeer(message.substr(0, bar), std::stoull(message.substr(bar + 1)));
}

std::string AgentBackend::LeaderAddress() {
  return Get<std::string>([](AgentCore& core) { return core.LeaderAddress(); });
}

http::RaftConfigurationView AgentBackend::RaftConfiguration() {
  return Get<http::RaftConfigurationView>([](AgentCore& core) { return core.RaftConfiguration(); });
}

std::vector<http::Member> AgentBackend::Members() {
  return Get<std::vector<http::Member>>([](AgentCore& core) { return core.Members(); });
}

http::AgentInfo AgentBackend::Self() {
  return Get<http::AgentInfo>([](AgentCore& core) { return core.Self(); });
}

std::vector<std::string> AgentBackend::Datacenters() {
  return Get<std::vector<std::string>>(
      [](AgentCore& core) { return std::vector<std::string>{core.Config().datacenter}; });
}

}  // namespace cairn::agent
