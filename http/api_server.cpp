#include "http/api_server.h"

#include <httplib.h>

#include <chrono>

#include "http/json_fields.h"
#include "http/routes.h"

namespace cairn::http {

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
  for (Route& route : routes) {
    auto handler = [this, h = std::move(route.handler)](const httplib::Request& req, httplib::Response& res) {
      ApiContext ctx{backend_, options_};
      h(ctx, req, res);
    };
    if (route.method == "GET") server_->Get(route.pattern, handler);
    if (route.method == "PUT") server_->Put(route.pattern, handler);
    if (route.method == "POST") server_->Post(route.pattern, handler);
    if (route.method == "DELETE") server_->Delete(route.pattern, handler);
  }
  // Consul takes a PUT with no body and no Content-Length (its docs show `curl --request PUT
  // .../v1/agent/leave`), but this httplib answers such a request 400 before routing it. The
  // pre-routing hook runs first: there an empty body is made explicit. The Request object
  // belongs to the server's connection and is not itself const, so the cast is sound.
  server_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding") &&
        (req.method == "PUT" || req.method == "POST" || req.method == "DELETE")) {
      const_cast<httplib::Request&>(req).headers.emplace("Content-Length", "0");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // A handler never lets an exception out; this is the last line if a library call does.
  server_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    ReplyText(res, 500, "Internal error: " + what);
  });
}

Status HttpApi::Start() {
  if (server_) return Status::FailedPrecondition("HTTP API already started");
  server_ = std::make_unique<httplib::Server>();
  const size_t workers = options_.worker_threads;
  server_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server_->set_payload_max_length(options_.body_bytes_max);
  // Short keep-alive waits so Stop() does not wait long for idle client connections.
  server_->set_keep_alive_timeout(1);
  // httplib closes a keep-alive connection after 5 requests by default; a client that keeps
  // its connection (every Consul client does) would reconnect constantly.
  server_->set_keep_alive_max_count(options_.keep_alive_requests_max);
  InstallRoutes();
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.bind_host);
  } else if (!server_->bind_to_port(options_.bind_host, port)) {
    port = -1;
  }
  if (port <= 0) {
    server_.reset();
    return Status::IoError("cannot bind the HTTP API to " + options_.bind_host + ":" + std::to_string(options_.port));
  }
  port_ = static_cast<uint16_t>(port);
  listener_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      Stop();
      return Status::IoError("the HTTP API did not start listening within 10s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return OkStatus();
}

void HttpApi::Stop() {
  if (!server_) return;
  server_->stop();
  if (listener_.joinable()) listener_.join();
  server_.reset();
}

bool RunQuery(ApiContext& ctx, const httplib::Request& req, httplib::Response& res,
              const std::vector<catalog::WatchTopic>& topics, const ReadFn& read) {
  Result<QueryOptions> options = ParseQueryOptions(req, ctx.options.blocking);
  if (Failed(res, options)) return false;
  Result<QueryMeta> meta = ctx.backend.Query(*options, topics, read);
  if (Failed(res, meta)) return false;
  SetQueryMeta(res, *meta);
  return true;
}

std::optional<catalog::CommandResult> RunWrite(ApiContext& ctx, httplib::Response& res, catalog::Command command) {
  Result<catalog::CommandResult> result = ctx.backend.Write(std::move(command));
  if (Failed(res, result)) return std::nullopt;
  return std::move(result).Value();
}

std::optional<Json> BodyJson(const httplib::Request& req, httplib::Response& res) {
  Result<Json> body = ParseJsonBody(req.body);
  if (Failed(res, body)) return std::nullopt;
  return std::move(body).Value();
}

}  // namespace cairn::http
