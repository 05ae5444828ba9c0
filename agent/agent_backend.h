// AgentBackend: http::Backend for a running agent.
//
// Each call moves onto the agent's loop thread (agent/loop_call.h), where AgentCore does the
// work, and the HTTP worker waits for the answer. A blocking query holds its worker thread
// but nothing inside the store: between passes it waits on a condition variable that a
// one-shot store watch signals.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <set>

#include "agent/agent_core.h"
#include "http/backend.h"

namespace cairn::agent {

class AgentBackend final : public http::Backend {
 public:
  // `core` is owned by the loop thread of `env`; both must outlive the backend's callers.
  // `on_leave` runs after a successful Leave (the agent stops itself then).
  AgentBackend(Env& env, AgentCore& core, std::function<void()> on_leave = nullptr)
      : env_(env), core_(core), on_leave_(std::move(on_leave)) {}

  // Ends every blocking query now (kUnavailable) and refuses new ones: the agent is stopping.
  void Close();

  Result<catalog::CommandResult> Write(catalog::Command command) override;
  // A server agent hands the write to its loop and returns; a client agent relays (blocking).
  bool WritesWithoutBlocking() const override { return !core_.IsClient(); }
  void WriteAsync(catalog::Command command, WriteDoneFn done) override;
  Result<catalog::Session> RenewSession(const std::string& id) override;
  Result<http::QueryMeta> Query(const http::QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                                const http::ReadFn& read) override;
  Result<QueryPass> QueryOnce(const http::QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                              const http::ReadFn& read, std::function<void()> wake) override;
  void CancelQueryWatch(uint64_t watch) override;
  Result<std::pair<catalog::TxnResult, http::QueryMeta>> ReadTxn(const http::QueryOptions& options,
                                                                 const std::vector<catalog::TxnOp>& ops) override;

  Status RegisterLocalService(catalog::Service service, std::vector<http::LocalCheck> checks) override;
  Status DeregisterLocalService(const std::string& service_id) override;
  Status RegisterLocalCheck(http::LocalCheck check) override;
  Status DeregisterLocalCheck(const std::string& check_id) override;
  Status UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output) override;
  std::vector<catalog::Service> LocalServices() override;
  std::vector<http::LocalCheck> LocalChecks() override;

  Status Join(const std::string& address) override;
  Status Leave() override;
  Status ForceLeave(const std::string& node) override;
  Status RemoveRaftPeer(const std::string& id, const std::string& address) override;

  // A client agent relays to its current server (ServerPool, read without the loop).
  bool RelaysToServers() const override { return core_.IsClient(); }
  Result<std::string> RelayServer() override;
  void RelayFailed(const std::string& server) override;

  std::string LeaderAddress() override;
  http::RaftConfigurationView RaftConfiguration() override;
  std::vector<http::Member> Members() override;
  http::AgentInfo Self() override;
  std::vector<std::string> Datacenters() override;

 private:
  // Runs `fn` on the loop and returns its value (a default value if the agent is stopping).
  template <typename T>
  T Get(std::function<T(AgentCore&)> fn);
  Status Do(std::function<void(AgentCore&, std::function<void(Status)>)> fn);

  class WakeSignal;
  // Registers a blocking query's signal so that Close() can end its wait; nullptr once closed.
  std::shared_ptr<WakeSignal> OpenWait();
  void CloseWait(const std::shared_ptr<WakeSignal>& wake);
  Result<http::QueryMeta> BlockingQuery(const http::QueryOptions& options,
                                        const std::vector<catalog::WatchTopic>& topics, const http::ReadFn& read,
                                        const std::shared_ptr<WakeSignal>& wake);

  Env& env_;
  AgentCore& core_;
  std::function<void()> on_leave_;
  std::mutex mu_;
  bool closed_ = false;
  std::set<std::shared_ptr<WakeSignal>> waiting_;
};

}  // namespace cairn::agent
