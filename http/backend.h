// The narrow interface the HTTP API is written against; the agent implements it.
//
// The HTTP layer parses and validates requests, turns them into catalog commands and reads,
// and renders Consul's JSON. Everything it needs from the running agent goes through Backend,
// so http/ depends only on catalog/ and common/ (docs/ARCHITECTURE.md).
//
// Threads: the HTTP server calls Backend from its worker threads. Every method may block the
// calling thread (until a write is applied, a read point is reached, or a blocking query
// wakes), and must be safe to call from many threads at once; WriteAsync, where the backend
// says it does not block, is also called from the server's loop thread. The `read` functions
// passed to Query run on the agent's own thread while the caller waits, so they may fill
// variables the caller owns; they must not keep references to the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/command.h"
#include "catalog/state_store.h"
#include "catalog/types.h"
#include "catalog/watch.h"
#include "common/status.h"

namespace cairn::http {

// Consul's consistency modes (?consistent, ?stale, neither).
enum class Consistency : uint8_t {
  kDefault,     // served once this server knows a leader; may trail the leader by a little
  kConsistent,  // linearizable: a ReadIndex read point is reached first
  kStale,       // served from local state, even without a leader
};

struct QueryOptions {
  Consistency consistency = Consistency::kDefault;
  // Blocking query: wait until the read's index is above min_index (0: do not block)...
  uint64_t min_index = 0;
  // ...or until this much time has passed (the HTTP layer already clamped it and added jitter).
  std::chrono::milliseconds max_wait{0};
};

// What Consul reports in X-Consul-Index, X-Consul-KnownLeader and X-Consul-LastContact.
struct QueryMeta {
  uint64_t index = 0;
  bool known_leader = false;
  uint64_t last_contact_millis = 0;  // 0 on the leader
};

// One read: runs against the store on the agent's thread, returns the index the read saw
// (Consul's rules, as the StateStore read calls return it).
using ReadFn = std::function<catalog::RaftIndex(const catalog::StateStore& store)>;

// A Raft server as /v1/operator/raft/configuration and /v1/status/peers report it.
struct RaftServer {
  std::string id;       // the server's node id
  std::string node;     // node name
  std::string address;  // "ip:port" of its server (Raft) port
  bool leader = false;
  bool voter = true;
};

// /v1/operator/raft/configuration: the servers and the Raft index of that configuration.
struct RaftConfigurationView {
  std::vector<RaftServer> servers;
  uint64_t index = 0;
};

// A gossip member as /v1/agent/members reports it.
struct Member {
  std::string name;
  std::string address;  // IP
  uint16_t port = 0;    // gossip port
  std::map<std::string, std::string> tags;
  int status = 1;  // Consul's serf status: 1 alive, 3 left, 4 failed
};

// What /v1/agent/self reports.
struct AgentInfo {
  std::string node_name;
  std::string node_id;
  std::string datacenter;
  std::string version;
  bool server = false;
  std::string advertise_address;
  uint16_t http_port = 0;
  // Consul's "Stats": section ("agent", "raft", "build", ...) -> name -> value, all strings.
  std::map<std::string, std::map<std::string, std::string>> stats;
};

// A check the agent owns, with how it is run (Consul's check definition). The catalog sees
// only `check`; the rest tells the agent what to run.
struct LocalCheck {
  catalog::Check check;
  std::chrono::milliseconds ttl{0};       // a TTL check when set: critical unless updated in time
  std::string http;                       // URL of an HTTP check
  std::string tcp;                        // "host:port" of a TCP check
  std::chrono::milliseconds interval{0};  // for HTTP and TCP checks
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds deregister_critical_service_after{0};
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Replicates `command` through the cluster (forwarding to the leader if this agent is not
  // it) and returns once it is applied locally. The agent stamps now_millis and chooses the
  // session id for SessionCreateCommand. kUnavailable: no leader ("No cluster leader");
  // kTimeout or kAborted: the outcome is unknown (timeout, leadership lost mid-write).
  virtual Result<catalog::CommandResult> Write(catalog::Command command) = 0;
  // Write, answered through `done` (called once, from any thread) instead of by blocking. A
  // backend that does not block in it says so with WritesWithoutBlocking; the HTTP API then
  // starts its KV writes on the server's loop thread, with no worker thread waiting. This
  // default blocks, as Write does.
  using WriteDoneFn = std::function<void(Result<catalog::CommandResult>)>;
  virtual bool WritesWithoutBlocking() const { return false; }
  virtual void WriteAsync(catalog::Command command, WriteDoneFn done) { done(Write(std::move(command))); }

  // Resets the session's TTL timer at the leader; kNotFound when the session does not exist.
  virtual Result<catalog::Session> RenewSession(const std::string& id) = 0;

  // Runs `read` with the consistency `options` ask for. If options.min_index > 0 and the read's
  // index is not above it, waits (without holding a thread inside the store: a watch on
  // `topics`) until one of them changes or max_wait passes, then runs `read` again: the last
  // run's results are the answer. kUnavailable when a leader is required and none is known.
  virtual Result<QueryMeta> Query(const QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                                  const ReadFn& read) = 0;

  // One pass of a blocking query, for a caller that waits without a thread. Runs `read` as
  // Query does; when its index is not above options.min_index (> 0), it leaves a one-shot
  // watch on `topics` that calls `wake` (from any thread) when one changes, and returns its id
  // in `watch`: the caller then waits for `wake` (and reads again), or gives up and calls
  // CancelQueryWatch. This default, for backends without such watches, blocks as Query does
  // and never sets `watch`.
  struct QueryPass {
    QueryMeta meta;
    std::optional<uint64_t> watch;
  };
  virtual Result<QueryPass> QueryOnce(const QueryOptions& options, const std::vector<catalog::WatchTopic>& topics,
                                      const ReadFn& read, std::function<void()> /*wake*/) {
    Result<QueryMeta> meta = Query(options, topics, read);
    if (!meta.IsOk()) return meta.GetStatus();
    return QueryPass{*meta, std::nullopt};
  }
  virtual void CancelQueryWatch(uint64_t /*watch*/) {}

  // A read-only transaction (every op a read verb), served as Query serves reads.
  virtual Result<std::pair<catalog::TxnResult, QueryMeta>> ReadTxn(const QueryOptions& options,
                                                                   const std::vector<catalog::TxnOp>& ops) = 0;

  // The agent's own services and checks (/v1/agent/service/*, /v1/agent/check/*). The agent
  // keeps them and puts them in the catalog on its own node; `service.node` and `check.node`
  // are filled in by the agent. kNotFound for an unknown id.
  virtual Status RegisterLocalService(catalog::Service service, std::vector<LocalCheck> checks) = 0;
  virtual Status DeregisterLocalService(const std::string& service_id) = 0;
  virtual Status RegisterLocalCheck(LocalCheck check) = 0;
  virtual Status DeregisterLocalCheck(const std::string& check_id) = 0;
  // TTL checks: /v1/agent/check/pass|warn|fail/<id> and /v1/agent/check/update/<id>.
  virtual Status UpdateLocalCheck(const std::string& check_id, catalog::HealthStatus status, std::string output) = 0;
  virtual std::vector<catalog::Service> LocalServices() = 0;
  virtual std::vector<LocalCheck> LocalChecks() = 0;

  // /v1/agent/join/<address>, /v1/agent/leave, /v1/agent/force-leave/<node>.
  virtual Status Join(const std::string& address) = 0;
  virtual Status Leave() = 0;
  virtual Status ForceLeave(const std::string& node) = 0;
  // DELETE /v1/operator/raft/peer?id= (or ?address=): removes a server from the Raft
  // configuration. kNotFound when no server matches.
  virtual Status RemoveRaftPeer(const std::string& id, const std::string& address) = 0;

  // A client agent keeps no catalog: it answers /v1/agent/* itself and relays every other
  // request to one of its servers (http/relay.h). RelaysToServers is fixed for the backend's
  // life; RelayServer names the server to relay to now, as HTTP "host:port" (kUnavailable when
  // none is known).
  virtual bool RelaysToServers() const { return false; }
  virtual Result<std::string> RelayServer() { return Status::FailedPrecondition("this agent does not relay"); }
  // A relay to `server` failed without an answer: the backend should pick another server.
  virtual void RelayFailed(const std::string& /*server*/) {}

  // "ip:port" of the leader's server port, empty when none is known.
  virtual std::string LeaderAddress() = 0;
  virtual RaftConfigurationView RaftConfiguration() = 0;
  virtual std::vector<Member> Members() = 0;
  virtual AgentInfo Self() = 0;
  virtual std::vector<std::string> Datacenters() = 0;
};

}  // namespace cairn::http
