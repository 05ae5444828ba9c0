// HttpApi: Consul's HTTP/JSON API (/v1/...), written against Backend (http/backend.h) and
// served by the event-driven HttpServer (http/http_server.h).
//
// Threads: the server's loop thread holds the connections; each request runs on a worker
// thread and calls Backend from there, except KV writes to a backend that starts them without
// blocking (Backend::WritesWithoutBlocking), which start on the loop and wait without a thread. A blocking query holds
// its worker until it returns, so worker_threads bounds the blocking queries (and other requests) in progress at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "catalog/catalog_limits.h"
#include "common/status.h"
#include "http/backend.h"
#include "http/http_server.h"
#include "http/http_util.h"

namespace cairn::http {

struct ApiContext;

struct ApiOptions {
  std::string bind_host = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port (see HttpApi::Port)
  // Bodies larger than this are refused with 413 before they are read.
  size_t body_bytes_max = 1024 * 1024;
  size_t kv_value_bytes_max = catalog::limits::kKvValueBytesMax;
  size_t txn_ops_max = catalog::limits::kTxnOpsMax;
  // Requests served on one keep-alive connection before it is closed.
  size_t keep_alive_requests_max = 100000;
  // Requests in progress at once (a blocking query holds one while it waits); threads are
  // added as load needs them, up to this. Further requests wait for a free one.
  size_t worker_threads = 512;
  // Open client connections; more are closed as they arrive. Idle ones cost no thread.
  size_t connections_max = 16384;
  BlockingLimits blocking;
};

class HttpApi {
 public:
  // `backend` must outlive the HttpApi.
  HttpApi(Backend& backend, ApiOptions options);
  ~HttpApi();  // stops the server
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds and starts serving; returns once the server accepts connections. kIoError when
  // the address cannot be bound, kFailedPrecondition when already started.
  Status Start();
  // The bound port (the ephemeral one when options.port was 0); 0 before Start.
  uint16_t Port() const { return port_; }
  // Stops accepting, closes connections, lets running handlers finish and joins the threads.
  // Idempotent. A
  // blocking query in flight holds its worker until Backend::Query returns, so the backend
  // should end its waits when the agent shuts down.
  void Stop();

 private:
  struct RouteTable;  // compiled route patterns (api_server.cpp)
  void InstallRoutes();
  // Routes one request (on a worker thread): its handler, 405 for a known path asked with
  // another method, or 404.
  void Dispatch(const Request& req, Response& res, RequestControl& control) const;
  // Whether `req` runs on the server's loop thread: KV writes, when the backend starts them
  // without blocking (HttpServerOptions::runs_on_loop).
  bool RunsOnLoop(const Request& req) const;

  Backend& backend_;
  ApiOptions options_;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
};

}  // namespace cairn::http
