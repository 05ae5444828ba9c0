// The route tables of the API's areas, each in its own file, and what their handlers share.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/api_server.h"
#include "http/backend.h"
#include "http/http_util.h"
#include "http/message.h"

namespace cairn::http {

struct ApiContext {
  Backend& backend;
  const ApiOptions& options;
  // Lets a blocking query wait without holding a thread (null: it blocks its thread).
  RequestControl* control = nullptr;
};

using Handler = std::function<void(ApiContext& ctx, const Request& req, Response& res)>;

struct Route {
  std::string method;   // GET, PUT, POST, DELETE
  std::string pattern;  // a std::regex (ECMAScript) on the decoded path
  Handler handler;
};

void AddKvRoutes(std::vector<Route>& routes);
void AddTxnRoutes(std::vector<Route>& routes);
void AddSessionRoutes(std::vector<Route>& routes);
void AddCatalogRoutes(std::vector<Route>& routes);
void AddHealthRoutes(std::vector<Route>& routes);
void AddAgentRoutes(std::vector<Route>& routes);
void AddStatusRoutes(std::vector<Route>& routes);
void AddInternalRoutes(std::vector<Route>& routes);

// Runs a read through Backend::Query with the request's blocking and consistency options and
// sets the X-Consul-* headers. On any error it replies and returns false.
bool RunQuery(ApiContext& ctx, const Request& req, Response& res, const std::vector<catalog::WatchTopic>& topics,
              const ReadFn& read);
// Replicates a command; on a backend error it replies and returns nullopt. On the server's
// loop (RequestControl::OnLoop) the first run only starts the write and defers the request,
// also returning nullopt: the handler then returns, and runs again with the result. So a
// handler run on the loop must call RunWrite once, and before it only parse the request.
std::optional<catalog::CommandResult> RunWrite(ApiContext& ctx, Response& res, catalog::Command command);
// Parses the body as JSON; on an error it replies 400 and returns nullopt.
std::optional<Json> BodyJson(const Request& req, Response& res);
// Replies with a Result's error and returns true when it holds one.
template <typename T>
bool Failed(Response& res, const Result<T>& result) {
  if (result.IsOk()) return false;
  ReplyError(res, result.GetStatus());
  return true;
}
inline bool Failed(Response& res, const Status& status) {
  if (status.IsOk()) return false;
  ReplyError(res, status);
  return true;
}

}  // namespace cairn::http
