// A client agent's calls to its servers' HTTP API: writes, anti-entropy reads, and the few
// calls a server makes to the leader's own endpoints (session renewals, peer removals).
//
// A write travels in its replicated encoding (catalog/command.h) to PUT /v1/internal/forward
// on any server, which hands it to the leader over the Raft peer link if it does not lead
// (server/catalog_forward.cpp) and answers with the encoded CommandResult.
#pragma once

#include <string>
#include <vector>

#include "catalog/command.h"
#include "common/status.h"

namespace cairn::agent {

// The Status for a server's error answer to a forwarded write. A 500 saying "No cluster leader"
// applied nothing (kUnavailable, safe to retry); any other 500 may come after the write was
// applied (the server's own outcome-unknown answer, or an error it could not classify), so it
// is kTimeout, outcome unknown. Other codes are the client's fault (kInvalidArgument).
Status ForwardedWriteError(int http_status, const std::string& body);

// `server_http` is "host:port". kUnavailable when the server cannot be reached or has no leader
// (the write did not happen), kTimeout when it did not answer in time or answered an error after
// which the outcome is unknown (ForwardedWriteError).
Result<catalog::CommandResult> ForwardWrite(const std::string& server_http, const catalog::Command& command);

// Everything the catalog holds on `node`, read from the server at `server_http`
// (GET /v1/internal/node-state/<node>). kUnavailable when the server cannot be reached.
Result<catalog::NodeRegistrations> FetchNodeRegistrations(const std::string& server_http, const std::string& node);

// The Raft voters the server at `server_http` reports (GET /v1/status/peers), as "host:port" of
// their Raft ports; empty when it runs no Raft yet. kUnavailable when it cannot be reached.
Result<std::vector<std::string>> FetchRaftPeers(const std::string& server_http);

// A session renewal sent to the leader's PUT /v1/session/renew/<id> (only the leader keeps
// TTL timers). kNotFound when the leader does not know the session.
Status ForwardRenew(const std::string& leader_http, const std::string& session_id);

// A Raft peer removal sent to the leader's DELETE /v1/operator/raft/peer?id=<raft id>.
Status ForwardRemovePeer(const std::string& leader_http, uint64_t raft_id);

}  // namespace cairn::agent

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/env.h"

namespace cairn::agent {

// Sends the requests the agent makes on its own (its services, TTL check updates, a client's
// anti-entropy) from the loop thread without blocking it: requests run on a small pool of
// threads and each result comes back to the loop through Env::Post. The queue is bounded
// (kResourceExhausted beyond).
class AsyncForwarder {
 public:
  using DoneFn = std::function<void(Result<catalog::CommandResult>)>;

  AsyncForwarder(Env& env, size_t threads, size_t queue_max);
  // Drops what is queued (without calling back) and joins the threads; a request in flight
  // finishes first (bounded by its timeout).
  ~AsyncForwarder();
  AsyncForwarder(const AsyncForwarder&) = delete;
  AsyncForwarder& operator=(const AsyncForwarder&) = delete;

  // Loop thread. `done` runs on the loop, unless the loop has stopped by then.
  void Forward(std::string server_http, catalog::Command command, DoneFn done);
  // Runs the blocking `call` on a pool thread and `done` with its result on the loop (or, with
  // kResourceExhausted, at once when the queue is full).
  template <typename T>
  void Run(std::function<Result<T>()> call, std::function<void(Result<T>)> done) {
    Job job = [call = std::move(call), done]() mutable -> std::function<void()> {
      return [done = std::move(done), result = call()]() mutable { done(std::move(result)); };
    };
    if (!Submit(std::move(job))) done(QueueFull());
  }

 private:
  // Runs off the loop; returns what to run on the loop.
  using Job = std::function<std::function<void()>()>;
  bool Submit(Job job);
  Status QueueFull() const;
  void Work();

  Env& env_;
  size_t queue_max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cairn::agent
