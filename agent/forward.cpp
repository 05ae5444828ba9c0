#include "agent/forward.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>

#include "common/env.h"

namespace cairn::agent {

constexpr time_t kForwardTimeoutSeconds = 30;
constexpr size_t kLeaderClientsPerThreadMax = 8;

namespace {

// This thread's keep-alive connection to the leader at `leader_http`: forwarded writes come
// from HTTP workers and the forwarder pool, and one connection per thread and leader saves a
// TCP handshake (and an accept queue slot at the leader) per write. After a failed request
// httplib reconnects on the next one.
Result<httplib::Client*> LeaderClient(const std::string& leader_http) {
  thread_local std::map<std::string, std::unique_ptr<httplib::Client>> clients;
  auto it = clients.find(leader_http);
  if (it != clients.end()) return it->second.get();
  if (clients.size() >= kLeaderClientsPerThreadMax) clients.clear();  // leaders come and go
  CAIRN_ASSIGN_OR_RETURN(NetAddress leader, NetAddress::Parse(leader_http));
  auto client = std::make_unique<httplib::Client>(leader.host, leader.port);
  client->set_keep_alive(true);
  client->set_connection_timeout(2, 0);
  client->set_read_timeout(kForwardTimeoutSeconds, 0);
  client->set_write_timeout(kForwardTimeoutSeconds, 0);
  return clients.emplace(leader_http, std::move(client)).first->second.get();
}

Status TransportError(const std::string& leader_http, httplib::Error error) {
  if (error == httplib::Error::Read) {
    return Status::Timeout("the leader at " + leader_http +
                           " did not answer a forwarded request; its outcome is unknown");
  }
  return Status::Unavailable("cannot reach the leader at " + leader_http + ": " + httplib::to_string(error));
}

}  // namespace

Status ForwardRenew(const std::string& leader_http, const std::string& session_id) {
  // Session ids are UUIDs; anything else cannot name a session and must not reach a URL.
  const bool plain = !session_id.empty() && std::all_of(session_id.begin(), session_id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
  if (!plain) return Status::NotFound("Session id '" + session_id + "' not found");
  CAIRN_ASSIGN_OR_RETURN(httplib::Client * client, LeaderClient(leader_http));
  httplib::Result response = client->Put("/v1/session/renew/" + session_id, "", "text/plain");
  if (!response) return TransportError(leader_http, response.error());
  if (response->status == 404) return Status::NotFound(response->body);
  if (response->status != 200) return Status::Unavailable(response->body);
  return OkStatus();
}

Status ForwardRemovePeer(const std::string& leader_http, uint64_t raft_id) {
  CAIRN_ASSIGN_OR_RETURN(httplib::Client * client, LeaderClient(leader_http));
  httplib::Result response = client->Delete("/v1/operator/raft/peer?id=" + std::to_string(raft_id));
  if (!response) return TransportError(leader_http, response.error());
  if (response->status == 404) return Status::NotFound(response->body);
  if (response->status != 200) return Status::FailedPrecondition(response->body);
  return OkStatus();
}

Result<catalog::CommandResult> ForwardWrite(const std::string& leader_http, const catalog::Command& command) {
  CAIRN_ASSIGN_OR_RETURN(httplib::Client * client, LeaderClient(leader_http));
  httplib::Result response = client->Put("/v1/internal/forward", EncodeCommand(command), "application/octet-stream");
  if (!response) return TransportError(leader_http, response.error());
  if (response->status != 200) {
    const StatusCode code = response->status == 500 ? StatusCode::kUnavailable : StatusCode::kInvalidArgument;
    return Status(code, response->body);
  }
  return catalog::DecodeCommandResult(response->body);
}

}  // namespace cairn::agent

namespace cairn::agent {

AsyncForwarder::AsyncForwarder(Env& env, size_t threads, size_t queue_max) : env_(env), queue_max_(queue_max) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

AsyncForwarder::~AsyncForwarder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

void AsyncForwarder::Forward(std::string leader_http, catalog::Command command, DoneFn done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() < queue_max_) {
      queue_.push_back(Job{std::move(leader_http), std::move(command), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(Status::ResourceExhausted("more than " + std::to_string(queue_max_) + " writes waiting to be forwarded"));
}

void AsyncForwarder::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (closing_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Result<catalog::CommandResult> result = ForwardWrite(job.leader_http, job.command);
    // If the loop has stopped, the callback (and what it refers to) is simply dropped.
    (void)env_.Post([done = std::move(job.done), result = std::move(result)]() mutable { done(std::move(result)); });
  }
}

}  // namespace cairn::agent
