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

httplib::Result Send(httplib::Client& client, const httplib::Request& req) {
  httplib::Headers headers;
  for (const auto& [name, value] : req.headers) {
    if (!IsHopHeader(name)) headers.emplace(name, value);
  }
  const std::string content_type = req.get_header_value("Content-Type");
  const std::string& target = req.target.empty() ? req.path : req.target;
  if (req.method == "GET") return client.Get(target, headers);
  if (req.method == "HEAD") return client.Head(target, headers);
  if (req.method == "DELETE") return client.Delete(target, headers, req.body, content_type);
  if (req.method == "POST") return client.Post(target, headers, req.body, content_type);
  if (req.method == "PATCH") return client.Patch(target, headers, req.body, content_type);
  return client.Put(target, headers, req.body, content_type);
}

void CopyAnswer(const httplib::Response& answer, httplib::Response& res) {
  res.status = answer.status;
  for (const auto& [name, value] : answer.headers) {
    if (!IsHopHeader(name)) res.headers.emplace(name, value);
  }
  const std::string content_type = answer.get_header_value("Content-Type");
  res.set_content(answer.body, content_type.empty() ? "text/plain; charset=utf-8" : content_type);
}

}  // namespace

Result<httplib::Client*> ThreadClient(const std::string& server, std::chrono::seconds read_timeout) {
  thread_local std::map<std::pair<std::string, int64_t>, std::unique_ptr<httplib::Client>> clients;
  const std::pair<std::string, int64_t> key(server, read_timeout.count());
  auto it = clients.find(key);
  if (it != clients.end()) return it->second.get();
  if (clients.size() >= kServerClientsPerThreadMax) clients.clear();  // servers come and go
  CAIRN_ASSIGN_OR_RETURN(NetAddress address, NetAddress::Parse(server));
  auto client = std::make_unique<httplib::Client>(address.host, address.port);
  client->set_keep_alive(true);
  client->set_connection_timeout(2, 0);
  client->set_read_timeout(read_timeout.count(), 0);
  client->set_write_timeout(30, 0);
  return clients.emplace(key, std::move(client)).first->second.get();
}

bool AnsweredLocally(const std::string& path) { return path.starts_with("/v1/agent/"); }

void RelayRequest(Backend& backend, const httplib::Request& req, httplib::Response& res) {
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  std::string last_error = "no server answered";
  for (int attempt = 0; attempt < kRelayAttemptsMax; ++attempt) {
    Result<std::string> server = backend.RelayServer();
    if (!server.IsOk()) return ReplyText(res, 500, server.GetStatus().Message());
    Result<httplib::Client*> client = ThreadClient(*server, kRelayReadTimeout);
    if (!client.IsOk()) return ReplyText(res, 500, client.GetStatus().Message());
    httplib::Result answer = Send(**client, req);
    if (answer) return CopyAnswer(*answer, res);
    const httplib::Error error = answer.error();
    last_error = "rpc error: server " + *server + ": " + httplib::to_string(error);
    backend.RelayFailed(*server);
    // Connection: the request never left, so any method may go to the next server.
    if (error != httplib::Error::Connection && !read_only) break;
  }
  ReplyText(res, 500, last_error);
}

}  // namespace cairn::http
