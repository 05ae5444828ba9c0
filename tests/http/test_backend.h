// A Backend for testing the HTTP layer: commands go through catalog::ApplyCommand into a real
// StateStore on disk, one increasing index at a time under a mutex; blocking queries wait on
// real store watches and a condition variable. Agent-only state (local services and checks,
// members, Raft servers) is kept in memory and the local services are registered in the
// catalog on the backend's own node, as an agent would.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/state_store.h"
#include "http/backend.h"

namespace cairn::http::testing {

class TestBackend final : public Backend {
 public:
  static constexpr const char* kNodeName = "node1";
  static constexpr uint64_t kRaftConfigurationIndex = 12;

  // Opens a store in `directory` and registers the agent's own node (index 1).
  explicit TestBackend(const std::string& directory);
  ~TestBackend() override;

  Result<catalog::CommandResult> Write(catalog::Command command) override;
  // Applies at once, under the lock only, so the API starts KV writes on its loop thread
  // (the path a server agent takes) and every KV test goes through it.
  bool WritesWithoutBlocking() const override { return true; }
  void WriteAsync(catalog::Command command, WriteDoneFn done) override;
  Result<catalog::Session> RenewSession(const std::string& id) override;
  Result<QueryMeta> Query(const QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                          const ReadFn& read) override;
  Result<std::pair<catalog::TxnResult, QueryMeta>> ReadTxn(const QueryOptions& options,
                                                           const std::vector<catalog::TxnOp>& ops) override;
  Status RegisterLocalService(catalog::Service service, std::vector<LocalCheck> checks) override;
  Status DeregisterLocalService(const std::string& service_id) override;
  Status RegisterLocalCheck(LocalCheck check) override;
  Status DeregisterLocalCheck(const std::string& check_id) override;
  Status UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output) override;
  std::vector<catalog::Service> LocalServices() override;
  std::vector<LocalCheck> LocalChecks() override;
  Status Join(const std::string& address) override;
  Status Leave() override;
  Status ForceLeave(const std::string& node) override;
  Status RemoveRaftPeer(const std::string& id, const std::string& address) override;
  std::string LeaderAddress() override;
  RaftConfigurationView RaftConfiguration() override;
  std::vector<Member> Members() override;
  AgentInfo Self() override;
  std::vector<std::string> Datacenters() override;

  // Test controls and observations.
  void SetLeaderKnown(bool known);
  uint64_t AppliedIndex();
  size_t Writes();                             // commands applied so far
  size_t AsyncWrites();                        // of which through WriteAsync
  size_t QueryWakeups();                       // blocking queries woken by a watch (not by their timeout)
  std::vector<std::string> MembershipCalls();  // "join <addr>", "leave", "force-leave <node>"
  // Runs `fn` on the store under the backend's lock.
  void Inspect(const std::function<void(const catalog::StateStore&)>& fn);

 private:
  Result<catalog::CommandResult> ApplyLocked(catalog::Command command);
  Status RegisterOnOwnNode(std::optional<catalog::Service> service, std::vector<catalog::Check> checks);
  catalog::Node OwnNode() const;

  std::mutex mu_;
  std::condition_variable changed_;
  std::unique_ptr<catalog::StateStore> store_;
  uint64_t next_index_ = 1;
  uint64_t next_session_ = 1;
  size_t writes_ = 0;
  size_t async_writes_ = 0;
  size_t query_wakeups_ = 0;
  bool leader_known_ = true;
  bool stopping_ = false;
  std::map<std::string, catalog::Service> services_;
  std::map<std::string, LocalCheck> checks_;
  std::vector<RaftServer> servers_;
  std::vector<std::string> membership_calls_;
};

}  // namespace cairn::http::testing
