#include "http/api_server.h"

#include <chrono>
#include <mutex>
#include <optional>
#include <regex>
#include <string_view>

#include "http/json_fields.h"
#include "http/relay.h"
#include "http/routes.h"

namespace cairn::http {

namespace {

// The literal start of a route pattern (up to its first regex metacharacter), checked before
// the regex: most requests are then matched against one or two expressions, not every one.
std::string LiteralPrefix(const std::string& pattern) {
  const size_t meta = pattern.find_first_of("\\^$.|?*+()[]{}");
  return pattern.substr(0, meta);
}

}  // namespace

struct HttpApi::RouteTable {
  struct CompiledRoute {
    std::string method;
    std::string prefix;  // the pattern's literal start
    std::regex pattern;
    Handler handler;
  };
  std::vector<CompiledRoute> routes;
};

HttpApi::HttpApi(Backend& backend, ApiOptions options) : backend_(backend), options_(std::move(options)) {}

HttpApi::~HttpApi() { Stop(); }

void HttpApi::InstallRoutes() {
  std::vector<Route> routes;
  AddKvRoutes(routes);
  AddTxnRoutes(routes);
  AddSessionRoutes(routes);
  AddCatalogRoutes(routes);
  AddHealthRoutes(routes);
  AddAgentRoutes(routes);
  AddStatusRoutes(routes);
  AddInternalRoutes(routes);
  routes_ = std::make_unique<RouteTable>();
  for (Route& route : routes) {
    routes_->routes.push_back(RouteTable::CompiledRoute{route.method, LiteralPrefix(route.pattern),
                                                        std::regex(route.pattern), std::move(route.handler)});
  }
}

void HttpApi::Dispatch(const Request& req, Response& res, RequestControl& control) const {
  // A HEAD is answered as its GET, without the body (the server drops it).
  const std::string_view method = req.method == "HEAD" ? std::string_view("GET") : std::string_view(req.method);
  // Handlers read path captures from req.matches; the request is this call's own to fill.
  auto& request = const_cast<Request&>(req);
  if (!AnsweredLocally(req.path) && backend_.RelaysToServers()) {
    RelayRequest(backend_, req, res);  // a client agent: a server answers
    return;
  }
  std::string allowed;
  for (const RouteTable::CompiledRoute& route : routes_->routes) {
    if (!req.path.starts_with(route.prefix)) continue;
    std::smatch matches;
    if (!std::regex_match(req.path, matches, route.pattern)) continue;
    if (route.method != method) {
      if (allowed.find(route.method) == std::string::npos) allowed += (allowed.empty() ? "" : ", ") + route.method;
      continue;
    }
    request.matches.assign(matches.begin(), matches.end());
    ApiContext ctx{backend_, options_, &control};
    route.handler(ctx, req, res);
    return;
  }
  if (!allowed.empty()) {
    // Consul's wording for a known path asked with the wrong method.
    res.SetHeader("Allow", allowed);
    ReplyText(res, 405, "method " + req.method + " not allowed");
    return;
  }
  ReplyText(res, 404, "404 page not found");
}

bool HttpApi::RunsOnLoop(const Request& req) const {
  if (backend_.RelaysToServers() || !backend_.WritesWithoutBlocking()) return false;
  // These handlers call nothing of the backend but RunWrite.
  return (req.method == "PUT" || req.method == "DELETE") && req.path.starts_with("/v1/kv/");
}

Status HttpApi::Start() {
  if (server_) return Status::FailedPrecondition("HTTP API already started");
  InstallRoutes();
  HttpServerOptions server_options;
  server_options.bind_host = options_.bind_host;
  server_options.port = options_.port;
  server_options.limits.body_bytes_max = options_.body_bytes_max;
  server_options.worker_threads_max = options_.worker_threads;
  server_options.keep_alive_requests_max = options_.keep_alive_requests_max;
  server_options.connections_max = options_.connections_max;
  server_options.runs_on_loop = [this](const Request& req) { return RunsOnLoop(req); };
  auto server = std::make_unique<HttpServer>(
      server_options,
      [this](const Request& req, Response& res, RequestControl& control) { Dispatch(req, res, control); });
  CAIRN_RETURN_IF_ERROR(server->Start());
  port_ = server->Port();
  server_ = std::move(server);
  return OkStatus();
}

void HttpApi::Stop() {
  if (!server_) return;
  server_->Stop();
  server_.reset();
}

namespace {

// What a blocking query keeps between its runs while it waits without a thread.
struct BlockingState {
  std::chrono::steady_clock::time_point deadline;
};

// A blocking query that waits without a thread: each run reads once; if the answer is not
// newer than ?index, it defers the request until a watch fires or the deadline (fixed by the
// first run, jitter included) passes. The run after the deadline answers with what is there.
bool RunDeferrableQuery(ApiContext& ctx, Response& res, QueryOptions options,
                        const std::vector<catalog::WatchTopic>& topics, const ReadFn& read) {
  RequestControl& control = *ctx.control;
  const auto now = std::chrono::steady_clock::now();
  if (!control.State()) control.State() = std::make_shared<BlockingState>(BlockingState{now + options.max_wait});
  const auto deadline = static_cast<BlockingState*>(control.State().get())->deadline;
  if (now >= deadline) options.min_index = 0;
  Result<Backend::QueryPass> pass = ctx.backend.QueryOnce(options, topics, read, control.Resumer());
  if (Failed(res, pass)) return false;
  if (!pass->watch) {
    SetQueryMeta(res, pass->meta);
    return true;
  }
  Backend& backend = ctx.backend;
  control.Defer(deadline, [&backend, watch = *pass->watch] { backend.CancelQueryWatch(watch); });
  return false;
}

}  // namespace

bool RunQuery(ApiContext& ctx, const Request& req, Response& res, const std::vector<catalog::WatchTopic>& topics,
              const ReadFn& read) {
  Result<QueryOptions> options = ParseQueryOptions(req, ctx.options.blocking);
  if (Failed(res, options)) return false;
  if (ctx.control != nullptr && options->min_index > 0) {
    return RunDeferrableQuery(ctx, res, *options, topics, read);
  }
  Result<QueryMeta> meta = ctx.backend.Query(*options, topics, read);
  if (Failed(res, meta)) return false;
  SetQueryMeta(res, *meta);
  return true;
}

namespace {

// How long a write started on the loop may take before its request is answered "outcome
// unknown" (as long as a worker would wait for the agent).
constexpr auto kLoopWriteWait = std::chrono::seconds(30);

// A write started by one run of a request on the loop, for the run that answers it.
struct StartedWrite {
  std::mutex mu;
  std::optional<Result<catalog::CommandResult>> result;
};

// First run: starts the write and defers the request until its result arrives. Second run:
// the result (kTimeout if it never came).
std::optional<catalog::CommandResult> RunWriteOnLoop(ApiContext& ctx, Response& res, catalog::Command command) {
  RequestControl& control = *ctx.control;
  if (!control.State()) {
    auto write = std::make_shared<StartedWrite>();
    control.State() = write;
    control.Defer(std::chrono::steady_clock::now() + kLoopWriteWait, nullptr);
    ctx.backend.WriteAsync(std::move(command),
                           [write, resume = control.Resumer()](Result<catalog::CommandResult> result) {
                             {
                               std::lock_guard<std::mutex> lock(write->mu);
                               write->result.emplace(std::move(result));
                             }
                             resume();
                           });
    return std::nullopt;
  }
  auto& write = *static_cast<StartedWrite*>(control.State().get());
  std::optional<Result<catalog::CommandResult>> result;
  {
    std::lock_guard<std::mutex> lock(write.mu);
    result = std::move(write.result);
  }
  if (!result) {
    result.emplace(Status::Timeout("the write was not answered within " + std::to_string(kLoopWriteWait.count()) +
                                   " s; its outcome is unknown"));
  }
  if (Failed(res, *result)) return std::nullopt;
  return std::move(*result).Value();
}

}  // namespace

std::optional<catalog::CommandResult> RunWrite(ApiContext& ctx, Response& res, catalog::Command command) {
  if (ctx.control != nullptr && ctx.control->OnLoop()) return RunWriteOnLoop(ctx, res, std::move(command));
  Result<catalog::CommandResult> result = ctx.backend.Write(std::move(command));
  if (Failed(res, result)) return std::nullopt;
  return std::move(result).Value();
}

std::optional<Json> BodyJson(const Request& req, Response& res) {
  Result<Json> body = ParseJsonBody(req.body);
  if (Failed(res, body)) return std::nullopt;
  return std::move(body).Value();
}

}  // namespace cairn::http
