#include "http/relay.h"

#include <map>
#include <memory>

#include "common/env.h"
#include "http/http_util.h"
#include "http/request_parser.h"

namespace cairn::http {

namespace {

constexpr size_t kServerClientsPerThreadMax = 8;

// Hop-by-hop headers (RFC 9110 section 7.6.1) and the framing each side sets itself.
bool IsHopHeader(const std::string& name) {
  static const char* const kHop[] = {"Connection",
                                     "Keep-Alive",
                                     "Transfer-Encoding",
                                     "TE",
                                     "Trailer",
                                     "Upgrade",
                                     "Proxy-Connection",
                                     "Proxy-Authorization",
                                     "Host",
                                     "Content-Length",
                                     "Content-Type",
                                     "Expect",
                                     "Accept-Encoding",
                                     "Content-Encoding"};
  for (const char* hop : kHop) {
    if (EqualsIgnoreCase(name, hop)) return true;
  }
  return false;
}

// The request as it goes on to a server: the end-to-end headers, the body and its type.
Request Onward(const Request& req) {
  Request onward;
  onward.method = req.method;
  onward.target = req.target;
  for (const auto& [name, value] : req.headers) {
    if (!IsHopHeader(name)) onward.headers.emplace(name, value);
  }
  const std::string content_type = req.HeaderValue("Content-Type");
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  if (!read_only && !content_type.empty()) onward.headers.emplace("Content-Type", content_type);
  onward.body = req.body;
  return onward;
}

void CopyAnswer(Response&& answer, Response& res) {
  res.status = answer.status;
  for (const auto& [name, value] : answer.headers) {
    if (!IsHopHeader(name)) res.headers.emplace(name, value);
  }
  const std::string content_type = answer.HeaderValue("Content-Type");
  res.SetContent(std::move(answer.body), content_type.empty() ? "text/plain; charset=utf-8" : content_type);
}

}  // namespace

Result<HttpClient*> ThreadClient(const std::string& server, std::chrono::seconds read_timeout) {
  thread_local std::map<std::pair<std::string, int64_t>, std::unique_ptr<HttpClient>> clients;
  const std::pair<std::string, int64_t> key(server, read_timeout.count());
  auto it = clients.find(key);
  if (it != clients.end()) return it->second.get();
  if (clients.size() >= kServerClientsPerThreadMax) clients.clear();  // servers come and go
  CAIRN_ASSIGN_OR_RETURN(NetAddress address, NetAddress::Parse(server));
  HttpClientOptions options;
  options.connect_timeout = std::chrono::seconds(2);
  options.read_timeout = read_timeout;
  options.write_timeout = std::chrono::seconds(30);
  auto client = std::make_unique<HttpClient>(address.host, address.port, options);
  return clients.emplace(key, std::move(client)).first->second.get();
}

bool AnsweredLocally(const std::string& path) { return path.starts_with("/v1/agent/"); }

void RelayRequest(Backend& backend, const Request& req, Response& res) {
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  const Request onward = Onward(req);
  std::string last_error = "no server answered";
  for (int attempt = 0; attempt < kRelayAttemptsMax; ++attempt) {
    Result<std::string> server = backend.RelayServer();
    if (!server.IsOk()) return ReplyText(res, 500, server.GetStatus().Message());
    Result<HttpClient*> client = ThreadClient(*server, kRelayReadTimeout);
    if (!client.IsOk()) return ReplyText(res, 500, client.GetStatus().Message());
    Result<Response> answer = (*client)->Send(onward);
    if (answer.IsOk()) return CopyAnswer(std::move(*answer), res);
    last_error = "rpc error: server " + *server + ": " + answer.GetStatus().Message();
    backend.RelayFailed(*server);
    // kUnavailable: no connection was made, so any method may go to the next server.
    if (answer.GetStatus().Code() != StatusCode::kUnavailable && !read_only) break;
  }
  ReplyText(res, 500, last_error);
}

}  // namespace cairn::http
