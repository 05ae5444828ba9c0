#include "agent/forward.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "common/env.h"
#include "common/thread_name.h"
#include "http/http_util.h"
#include "http/relay.h"

namespace cairn::agent {

constexpr time_t kForwardTimeoutSeconds = 30;

namespace {

// Forwarded requests use this thread's keep-alive connection to the server (http/relay.h).
Result<http::HttpClient*> ServerClient(const std::string& server_http) {
  return http::ThreadClient(server_http, std::chrono::seconds(kForwardTimeoutSeconds));
}

// kUnavailable and kIoError (http/http_client.h): the server never had the request whole.
// Anything else came after it was sent: it may have been applied.
Status TransportError(const std::string& server_http, const Status& error) {
  const StatusCode code = error.Code();
  if (code == StatusCode::kUnavailable || code == StatusCode::kIoError || code == StatusCode::kInvalidArgument) {
    return Status::Unavailable("cannot reach the server at " + server_http + ": " + error.Message());
  }
  return Status::Timeout("the server at " + server_http + " did not answer a forwarded request (" + error.Message() +
                         "); its outcome is unknown");
}

}  // namespace

Status ForwardedWriteError(int http_status, const std::string& body) {
  if (http_status != 500) return Status::InvalidArgument(body);
  if (body.rfind(http::kNoLeaderReply, 0) == 0) return Status::Unavailable(body);
  std::string_view detail = body;
  if (detail.rfind(http::kOutcomeUnknownReply, 0) == 0) detail.remove_prefix(http::kOutcomeUnknownReply.size());
  return Status::Timeout("the server at the other end answered: " + std::string(detail));
}

Status ForwardRenew(const std::string& leader_http, const std::string& session_id) {
  // Session ids are UUIDs; anything else cannot name a session and must not reach a URL.
  const bool plain = !session_id.empty() && std::all_of(session_id.begin(), session_id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
  if (!plain) return Status::NotFound("Session id '" + session_id + "' not found");
  CAIRN_ASSIGN_OR_RETURN(http::HttpClient * client, ServerClient(leader_http));
  Result<http::Response> response = client->Send("PUT", "/v1/session/renew/" + session_id, "", "text/plain");
  if (!response.IsOk()) return TransportError(leader_http, response.GetStatus());
  if (response->status == 404) return Status::NotFound(response->body);
  if (response->status != 200) return Status::Unavailable(response->body);
  return OkStatus();
}

Status ForwardRemovePeer(const std::string& leader_http, uint64_t raft_id) {
  CAIRN_ASSIGN_OR_RETURN(http::HttpClient * client, ServerClient(leader_http));
  Result<http::Response> response = client->Send("DELETE", "/v1/operator/raft/peer?id=" + std::to_string(raft_id));
  if (!response.IsOk()) return TransportError(leader_http, response.GetStatus());
  if (response->status == 404) return Status::NotFound(response->body);
  if (response->status != 200) return Status::FailedPrecondition(response->body);
  return OkStatus();
}

Result<catalog::CommandResult> ForwardWrite(const std::string& server_http, const catalog::Command& command) {
  CAIRN_ASSIGN_OR_RETURN(http::HttpClient * client, ServerClient(server_http));
  Result<http::Response> response =
      client->Send("PUT", "/v1/internal/forward", EncodeCommand(command), "application/octet-stream");
  if (!response.IsOk()) return TransportError(server_http, response.GetStatus());
  if (response->status != 200) return ForwardedWriteError(response->status, response->body);
  return catalog::DecodeCommandResult(response->body);
}

Result<std::vector<std::string>> FetchRaftPeers(const std::string& server_http) {
  CAIRN_ASSIGN_OR_RETURN(http::HttpClient * client, ServerClient(server_http));
  Result<http::Response> response = client->Send("GET", "/v1/status/peers");
  if (!response.IsOk()) return TransportError(server_http, response.GetStatus());
  if (response->status != 200) return Status::Unavailable("server " + server_http + ": " + response->body);
  const nlohmann::json peers = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!peers.is_array()) return Status::Unavailable("server " + server_http + " answered peers that are not a list");
  std::vector<std::string> out;
  for (const nlohmann::json& peer : peers) {
    if (peer.is_string()) out.push_back(peer.get<std::string>());
  }
  return out;
}

Result<catalog::NodeRegistrations> FetchNodeRegistrations(const std::string& server_http, const std::string& node) {
  CAIRN_ASSIGN_OR_RETURN(http::HttpClient * client, ServerClient(server_http));
  Result<http::Response> response =
      client->Send("GET", "/v1/internal/node-state/" + http::PercentEncode(node, /*keep_slash=*/false));
  if (!response.IsOk()) return TransportError(server_http, response.GetStatus());
  if (response->status != 200) return Status::Unavailable("server " + server_http + ": " + response->body);
  return catalog::DecodeNodeRegistrations(response->body);
}

AsyncForwarder::AsyncForwarder(Env& env, size_t threads, size_t queue_max) : env_(env), queue_max_(queue_max) {
  for (size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      NameThisThread("cairn-forward");
      Work();
    });
  }
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

void AsyncForwarder::Forward(std::string server_http, catalog::Command command, DoneFn done) {
  Run<catalog::CommandResult>([server_http = std::move(server_http),
                               command = std::move(command)] { return ForwardWrite(server_http, command); },
                              std::move(done));
}

bool AsyncForwarder::Submit(Job job) {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.size() >= queue_max_) return false;
  queue_.push_back(std::move(job));
  cv_.notify_one();
  return true;
}

Status AsyncForwarder::QueueFull() const {
  return Status::ResourceExhausted("more than " + std::to_string(queue_max_) + " requests waiting to be forwarded");
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
    // If the loop has stopped, the completion (and what it refers to) is simply dropped.
    (void)env_.Post(job());
  }
}

}  // namespace cairn::agent
